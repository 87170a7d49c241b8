"""Session tags: what a tag may be, and how a change of tags applies (pure; every door).

A tag is a short label a person gives a session (``wip``, ``ADR-12``): not
empty, at most :data:`MAX_TAG` characters, no whitespace or control
characters. The store redacts tags like every stored text, so tags are
compared in their redacted form: adding a secret-looking tag twice stores it
once, and removing it by its raw text removes the stored form.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence

from sidecar.core.redact import redact_text

#: The longest tag, in characters.
MAX_TAG = 40
#: How much of a rejected value an error message shows.
_SHOWN = 60


def _shown(value: str) -> str:
    """A rejected value as an error names it: redacted, cut short, quoted."""
    text = redact_text(value)
    return repr(text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…")


def check_tag(value: str) -> str:
    """``value`` when it is a valid tag, else ``ValueError`` naming the value and the rule.

    >>> check_tag("wip")
    'wip'
    >>> check_tag("two words")
    Traceback (most recent call last):
    ...
    ValueError: tag 'two words' contains whitespace; a tag is one word (use - or _)
    """
    if not value:
        raise ValueError("a tag cannot be empty")
    if len(value) > MAX_TAG:
        raise ValueError(
            f"tag {_shown(value)} is {len(value)} characters long; at most {MAX_TAG} are allowed"
        )
    for char in value:
        if char.isspace():
            raise ValueError(
                f"tag {_shown(value)} contains whitespace; a tag is one word (use - or _)"
            )
        if unicodedata.category(char) in ("Cc", "Cf", "Cs"):
            raise ValueError(
                f"tag {_shown(value)} contains the control character U+{ord(char):04X}"
            )
    return value


def stored_form(tag: str) -> str:
    """The form the store keeps a tag in (redacted), which tags are compared by."""
    return redact_text(tag)


def retagged(current: Sequence[str], add: Iterable[str], remove: Iterable[str]) -> list[str]:
    """``current`` without ``remove``, then with ``add`` appended; each tag once, in order.

    Removal comes first, so a tag in both lists ends up present. Tags are
    compared in their stored (redacted) form. Nothing is validated here:
    check the tags with :func:`check_tag` first.

    >>> retagged(["wip", "api", "wip"], add=["review", "wip"], remove=["api"])
    ['wip', 'review']
    """
    gone = {stored_form(tag) for tag in remove}
    result: list[str] = []
    for form in [
        *(stored_form(t) for t in current if stored_form(t) not in gone),
        *map(stored_form, add),
    ]:
        if form not in result:
            result.append(form)
    return result
