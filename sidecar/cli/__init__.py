"""The command-line interface (``session-sidecar``)."""
