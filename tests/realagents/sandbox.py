"""A scratch world for one real agent CLI: its own HOME, a real git repository, a database.

Nothing touches the user's files: ``HOME``, ``XDG_*`` and the agent's own
config folders point into the test's temporary folder. The sidecar's hooks
are installed with the real ``session-sidecar hooks install <agent>``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sidecar.store import Store
from tests.gitrepo import make_repo, switch

#: Where scripts/install-agents.sh puts the pinned CLIs (override: SIDECAR_AGENTS_DIR).
AGENTS_DIR = Path(
    os.environ.get("SIDECAR_AGENTS_DIR") or Path(__file__).resolve().parents[2] / ".agents"
)
SIDECAR = str(Path(sys.executable).parent / "session-sidecar")


def agent_binary(name: str) -> str:
    """The installed CLI ``name``; a missing one fails the test (it never skips)."""
    path = AGENTS_DIR / "node_modules" / ".bin" / name
    if not os.access(path, os.X_OK):
        pytest.fail(
            f"{name} is not installed in {AGENTS_DIR}: run scripts/install-agents.sh "
            "(the README's test command does)",
            pytrace=False,
        )
    return str(path)


class Sandbox:
    """One agent's world: ``home``, ``repo`` (a git repository on main), ``db``, ``env``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "home"
        self.home.mkdir(parents=True)
        self.repo = make_repo(root / "work")
        self.db = root / "data" / "sessions.db"
        path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
        self.env: dict[str, str] = {
            "PATH": path,
            "HOME": str(self.home),
            "USER": os.environ.get("USER", "tester"),
            "LANG": "C.UTF-8",
            "TERM": "dumb",
            "NO_COLOR": "1",
            "CI": "1",
            "XDG_CONFIG_HOME": str(self.home / ".config"),
            "XDG_DATA_HOME": str(self.home / ".local" / "share"),
            "XDG_STATE_HOME": str(self.home / ".local" / "state"),
            "XDG_CACHE_HOME": str(self.home / ".cache"),
            "XDG_RUNTIME_DIR": str(root / "run"),
            "TMPDIR": str(root / "tmp"),
            "GIT_CONFIG_NOSYSTEM": "1",
            "SIDECAR_DB": str(self.db),
        }
        for folder in ("run", "tmp"):
            (root / folder).mkdir(mode=0o700)

    def sidecar(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``session-sidecar`` in this world."""
        proc = subprocess.run(
            [SIDECAR, *args], cwd=self.repo, env=self.env, capture_output=True, text=True,
            timeout=120, check=False,
        )  # fmt: skip
        if check:
            assert proc.returncode == 0, f"session-sidecar {args}: {proc.stderr}"
        return proc

    def install_hooks(self, agent: str) -> subprocess.CompletedProcess[str]:
        """``session-sidecar hooks install <agent>`` as a user would run it."""
        return self.sidecar("hooks", "install", agent)

    def run(
        self, argv: list[str], *, timeout: float = 240, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run an agent command in the repository; fails the test with its output on timeout."""
        try:
            return subprocess.run(
                argv, cwd=self.repo, env={**self.env, **(env or {})}, capture_output=True,
                text=True, timeout=timeout, stdin=subprocess.DEVNULL, check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired as expired:
            pytest.fail(f"{argv[0]} timed out after {timeout} s; output: {expired.output!r}")

    def switch(self, branch: str, *, create: bool = False) -> None:
        switch(self.repo, branch, create=create)

    def store(self) -> Store:
        return Store.open(self.db)

    def sessions(self, provider: str) -> list[Any]:
        """Every session the sidecar holds for ``provider``."""
        with self.store() as store:
            return [s for s in store.sessions.list(limit=100).items
                    if s.boundary.provider == provider]  # fmt: skip

    def events(self, session_id: str) -> list[Any]:
        with self.store() as store:
            return list(store.events.page(session_id, limit=1000))

    def hook_log(self) -> str:
        path = self.home / ".local" / "state" / "session-sidecar" / "hook.log"
        return path.read_text(encoding="utf-8") if path.exists() else ""

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
