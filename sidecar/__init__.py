"""Session Sidecar: durable AI-tool session history bound to its git boundary."""

__version__ = "0.1.0"
