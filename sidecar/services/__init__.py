"""Services: the glue between adapters (server, CLI, watchers), the core and the store.

Each service is plain synchronous Python that owns one concern (sessions,
drift requests, ...). The language server runs them on its single store
thread, so they need no locks and their writes stay in request order.
"""
