"""`python -m sidecar.server`: the language server on stdio (same as `session-sidecar serve`)."""

from sidecar.server.serve import serve

if __name__ == "__main__":
    serve()
