"""Git adapter: the reader (the only code that parses git state) and the actions.

Import from the submodules: ``sidecar.git.reader`` for questions,
``sidecar.git.actions`` for changes; both raise ``sidecar.git.command.GitError``.
"""

from sidecar.git.command import GitError

__all__ = ["GitError"]
