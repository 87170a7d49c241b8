"""Running the `git` executable: one runner, one error type.

Every git subprocess of the sidecar goes through :func:`run_git`, so the
environment is cleaned the same way everywhere: variables that point git at
*another* repository (``GIT_DIR``, ``GIT_WORK_TREE``, ... set when the sidecar
is started from a git hook) are removed, and git never waits for a password.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

# Variables git sets for hooks and that would make `git -C <repo>` look at the
# wrong repository or index. GIT_INDEX_FILE is passed back in explicitly by
# callers that need a private index.
_LOCATING_VARIABLES = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_COMMON_DIR",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
)

DEFAULT_TIMEOUT_S = 30.0


class GitError(Exception):
    """A git command failed; the message names the command and git's own first error line.

    ``returncode`` is git's exit status (``None`` when git could not be started
    or timed out); ``stderr`` holds git's full error output.
    """

    def __init__(
        self,
        message: str,
        *,
        command: Sequence[str] = (),
        returncode: int | None = None,
        stderr: str = "",
    ) -> None:
        super().__init__(message)
        self.command = tuple(command)
        self.returncode = returncode
        self.stderr = stderr


def git_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a git subprocess: ours minus repository-locating variables."""
    env = {k: v for k, v in os.environ.items() if k not in _LOCATING_VARIABLES}
    env["GIT_TERMINAL_PROMPT"] = "0"
    if extra:
        env.update(extra)
    return env


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def run_git(
    cwd: str | os.PathLike[str],
    *args: str,
    env: Mapping[str, str] | None = None,
    ok_codes: tuple[int, ...] = (0,),
    timeout: float = DEFAULT_TIMEOUT_S,
) -> subprocess.CompletedProcess[str]:
    """Run ``git -C cwd <args>`` and return the finished process.

    Raises :class:`GitError` when git is missing, times out, or exits with a
    code outside ``ok_codes``. ``env`` adds variables to the cleaned environment.

    >>> run_git(".", "--version").stdout.startswith("git version")  # doctest: +SKIP
    True
    """
    command = ["git", "-C", str(cwd), *args]
    shown = "git " + " ".join(args)
    try:
        proc = subprocess.run(
            command,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            env=git_environment(env),
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except FileNotFoundError as exc:
        raise GitError(
            "git is not installed or not on PATH; install git and retry", command=command
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise GitError(
            f"`{shown}` in {Path(cwd)} did not finish within {timeout:.0f} s", command=command
        ) from exc
    if proc.returncode not in ok_codes:
        detail = _first_line(proc.stderr) or _first_line(proc.stdout) or "no error output"
        raise GitError(
            f"`{shown}` failed in {Path(cwd)} (exit {proc.returncode}): {detail}",
            command=command,
            returncode=proc.returncode,
            stderr=proc.stderr,
        )
    return proc


def git_output(
    cwd: str | os.PathLike[str], *args: str, env: Mapping[str, str] | None = None
) -> str:
    """Run git and return its standard output without the trailing newline."""
    return run_git(cwd, *args, env=env).stdout.rstrip("\n")
