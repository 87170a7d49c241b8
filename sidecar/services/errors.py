"""Errors services raise for requests they cannot honour; adapters map them to replies."""

from __future__ import annotations


class ServiceError(Exception):
    """A request that cannot be done now; ``str(error)`` says why and what to do.

    ``code`` is the JSON-RPC error code the server answers with.
    """

    code = -32001


class InvalidArgument(ServiceError):
    """A well-formed request that names something impossible (a path outside the
    allowed folders, a folder that is not open...)."""

    code = -32602


class NotReady(ServiceError):
    """The sidecar could not start its store or workspace (the message says why)."""

    code = -32002
