"""Pins and tags: the labels a person puts on a session, for every door (CLI, LSP).

A pinned session is kept by cleanup and marked in lists. Tags are checked by
:func:`sidecar.core.tags.check_tag` and changed in one store transaction
(:meth:`sidecar.store.sessions.Sessions.retag`). The sidecar's own tags
(``hook``: an agent's hook records the session; ``branch-inferred``: an
import guessed the branch) carry meaning for imports, so a person can
neither add nor remove them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sidecar.core.tags import check_tag
from sidecar.services.errors import InvalidArgument

if TYPE_CHECKING:
    from sidecar.core.models import Session
    from sidecar.store import Store


def reserved_tags() -> frozenset[str]:
    """Tags only the sidecar sets (their meaning is defined where they are set)."""
    from sidecar.services.agents import HOOK_TAG
    from sidecar.services.imports import BRANCH_INFERRED_TAG

    return frozenset({HOOK_TAG, BRANCH_INFERRED_TAG})


def set_pinned(store: Store, session_id: str, pinned: bool) -> Session:
    """Pin a session (cleanup keeps it) or unpin it."""
    return store.sessions.update(session_id, pinned=pinned)


def checked_tags(tags: Sequence[str], field: str) -> list[str]:
    """``tags`` when every one is valid and none is reserved, else ``InvalidArgument``
    naming the field (``add[1]``), the value and the rule."""
    reserved = reserved_tags()
    for index, tag in enumerate(tags):
        try:
            check_tag(tag)
        except ValueError as error:
            raise InvalidArgument(f"{field}[{index}]: {error}") from None
        if tag in reserved:
            raise InvalidArgument(
                f"{field}[{index}]: tag {tag!r} is set by the sidecar itself "
                f"({', '.join(sorted(reserved))}); choose another tag"
            )
    return list(tags)


def change_tags(
    store: Store, session_id: str, *, add: Sequence[str] = (), remove: Sequence[str] = ()
) -> Session:
    """Add and remove a session's tags (validated, de-duplicated, redacted by the store)."""
    return store.sessions.retag(
        session_id, add=checked_tags(add, "add"), remove=checked_tags(remove, "remove")
    )
