"""The sidecar's JSON-RPC protocol: method names, params and result models.

``names`` is import-free (the server registers routes from it before the
models load); ``messages`` holds the pydantic models; ``methods`` ties them
together in one table.
"""
