"""The language server (pygls): routes LSP and sidecar JSON-RPC messages to services."""
