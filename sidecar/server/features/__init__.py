"""The language server's features: one concern each, registered in :mod:`sidecar.server.setup`."""
