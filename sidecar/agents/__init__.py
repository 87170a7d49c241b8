"""Adapters for AI agents: importers for other tools' session files."""
