"""A realistic week of history for the VS Code tests and their screenshots.

Sessions on two branches of a real repository, written through the store with
their real times (days and hours ago): prompts, answers, tool calls with their
results (a failing ``pytest`` among them), edits with their diffs, a commit,
a checkpoint, a fork and an ended session. The repository is left on ``main``;
``feature/login`` holds a session active two hours ago, so switching to it asks
whether to resume that session (the four-choice decision).

Boundaries come from :func:`sidecar.services.boundary.boundary_for` with the
profile the language server uses, so the server sees these sessions as its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sidecar.core.models import Actor, EventKind, NewEvent, SessionStatus
from sidecar.services.boundary import boundary_for
from sidecar.store import Store
from tests.gitrepo import commit, git, switch

_CI_WORKFLOW = """\
name: ci
on: [push]
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: pip install -e . && pytest -q
"""


@dataclass
class SeededSession:
    """A seeded session: its id and name, and the seq of each event worth pointing at."""

    id: str
    name: str
    branch: str
    seqs: dict[str, int] = field(default_factory=dict)


@dataclass
class History:
    """What :func:`seed_history` wrote."""

    sessions: dict[str, SeededSession]

    def ids(self) -> list[str]:
        """Every seeded session id (no prompt or message may show one)."""
        return [s.id for s in self.sessions.values()]

    def to_json(self) -> dict[str, Any]:
        """The facts the browser driver needs (names, ids, seqs), by key."""
        return {
            key: {"id": s.id, "name": s.name, "branch": s.branch, "seqs": s.seqs}
            for key, s in self.sessions.items()
        }


class _Writer:
    """Appends events to one session at given times, remembering seqs by label."""

    def __init__(self, store: Store, seeded: SeededSession, worktree: Path) -> None:
        self.store = store
        self.seeded = seeded
        self.worktree = worktree
        self._tool = 0

    def add(
        self,
        when: datetime,
        kind: EventKind,
        payload: dict[str, Any],
        *,
        actor: Actor = Actor.AGENT,
        label: str | None = None,
    ) -> int:
        (seq,) = self.store.events.append(
            self.seeded.id,
            [NewEvent(kind=kind, actor=actor, payload=payload, time=when)],
            holder=None,
            now=when,
            activity_from_events=True,
        )
        if label:
            self.seeded.seqs[label] = seq
        return seq

    def prompt(self, when: datetime, text: str, label: str | None = None) -> int:
        return self.add(when, EventKind.PROMPT, {"text": text}, actor=Actor.USER, label=label)

    def answer(self, when: datetime, text: str, label: str | None = None) -> int:
        return self.add(when, EventKind.RESPONSE, {"text": text}, label=label)

    def tool(
        self,
        when: datetime,
        name: str,
        arguments: dict[str, Any],
        result: dict[str, Any],
        label: str | None = None,
    ) -> int:
        """A tool call and its result a few seconds later; returns the call's seq."""
        self._tool += 1
        tool_id = f"toolu_{self.seeded.id[-6:]}_{self._tool}"
        seq = self.add(
            when,
            EventKind.TOOL_CALL,
            {"name": name, "toolUseId": tool_id, "input": arguments},
            label=label,
        )
        self.add(
            when + timedelta(seconds=4), EventKind.TOOL_RESULT, {"toolUseId": tool_id, **result}
        )
        return seq

    def bash(
        self, when: datetime, command: str, output: str, exit_code: int, label: str | None = None
    ) -> int:
        return self.tool(
            when,
            "Bash",
            {"command": command},
            {"content": output, "exitCode": exit_code},
            label=label,
        )

    def edit(self, when: datetime, path: str, old: str, new: str, label: str | None = None) -> int:
        arguments = {"file_path": str(self.worktree / path), "old_string": old, "new_string": new}
        return self.tool(
            when, "Edit", arguments, {"content": f"The file {path} has been updated."}, label=label
        )


def seed_history(repo: Path, db_path: Path, now: datetime | None = None) -> History:
    """Write the week into ``db_path`` for ``repo`` (on ``main``); ``feature/login`` is created."""
    start = now or datetime.now(UTC)

    def ago(**delta: float) -> datetime:
        return start - timedelta(**delta)

    # feature/login exists in git, with a commit of its own; the workspace stays on main.
    switch(repo, "feature/login", create=True)
    commit(repo, "Add login form", {"login.py": "def login(email, password):\n    ...\n"})
    switch(repo, "main")
    head = git(repo, "rev-parse", "HEAD")

    sessions: dict[str, SeededSession] = {}
    store = Store.open(db_path)
    try:

        def session(key: str, name: str, branch: str, created: datetime) -> _Writer:
            place = boundary_for(repo)
            boundary = place.boundary.model_copy(update={"branch": branch})
            row = store.sessions.create(boundary, name=name, head_sha=head, now=created)
            sessions[key] = SeededSession(row.id, name, branch)
            return _Writer(store, sessions[key], repo)

        # main, six days ago: CI set up, committed, ended.
        ci = session("ci", "Set up CI", "main", ago(days=6, hours=3))
        t = ago(days=6, hours=3)
        ci.prompt(t, "Add a GitHub Actions workflow that runs pytest on every push.")
        ci.tool(
            t + timedelta(minutes=1),
            "Write",
            {
                "file_path": str(repo / ".github/workflows/ci.yml"),
                "content": _CI_WORKFLOW,
            },
            {"content": "File created successfully."},
        )
        ci.bash(t + timedelta(minutes=2), "pytest -q", "12 passed in 0.61s", 0)
        ci.answer(
            t + timedelta(minutes=3),
            "The workflow installs the package and runs `pytest -q` on every push.",
        )
        ci.add(
            t + timedelta(minutes=5),
            EventKind.COMMIT,
            {"sha": head, "subject": "Run the tests in CI"},
        )
        store.sessions.end(ci.seeded.id, now=t + timedelta(minutes=6))

        # main, three days ago: a flaky test hunted down, a failing run, a fix, a checkpoint.
        flaky = session("flaky", "Fix flaky pytest run", "main", ago(days=3, hours=2))
        t = ago(days=3, hours=2)
        flaky.prompt(
            t, "test_search fails every other run in CI. Find out why and fix it.", label="prompt"
        )
        flaky.bash(
            t + timedelta(minutes=1),
            "pytest -q tests/test_search.py",
            "F............\n"
            "FAILED tests/test_search.py::test_ranking - AssertionError: ['b', 'a'] != ['a', 'b']\n"
            "1 failed, 12 passed in 0.84s",
            1,
            label="failed",
        )
        flaky.answer(
            t + timedelta(minutes=2),
            "`test_ranking` compares results whose scores tie, and their order follows the set "
            "they come from. Sorting ties by name makes the order stable.",
        )
        flaky.edit(
            t + timedelta(minutes=3),
            "search.py",
            "    return sorted(hits, key=lambda h: -h.score)\n",
            "    return sorted(hits, key=lambda h: (-h.score, h.name))\n",
            label="edit",
        )
        flaky.bash(
            t + timedelta(minutes=4),
            "pytest -q tests/test_search.py",
            "13 passed in 0.79s",
            0,
            label="passed",
        )
        store.checkpoints.add(
            flaky.seeded.id,
            name="stable ranking",
            head_sha=head,
            snapshot_sha=None,
            ref=None,
            now=t + timedelta(minutes=5),
        )
        store.sessions.set_status(flaky.seeded.id, SessionStatus.IDLE)

        # feature/login, since yesterday: the form, a failing test, a fix. Active two hours ago.
        login = session("login", "Add login form", "feature/login", ago(hours=26))
        t = ago(hours=26)
        login.prompt(t, "Add a login form with email and password to app.py.", label="prompt")
        login.answer(
            t + timedelta(minutes=1),
            "I'll add a `login` view with a form and a check against the user table.",
        )
        login.edit(
            t + timedelta(minutes=2),
            "app.py",
            "print(1)\n",
            "from login import login\n\nprint(login('a@example.com', 'secret'))\n",
            label="edit",
        )
        login.bash(t + timedelta(minutes=3), "pytest -q", "14 passed in 0.70s", 0)
        # Yesterday the OAuth idea went into a fork of the first four events.
        oauth_at = login.seeded.seqs["prompt"] + 3
        t = ago(hours=3)
        login.prompt(t, "The wrong-password case should show an error, not a stack trace.")
        login.bash(
            t + timedelta(minutes=1),
            "pytest -q tests/test_login.py",
            "FAILED tests/test_login.py::test_wrong_password - KeyError: 'password'\n"
            "1 failed, 3 passed in 0.22s",
            1,
            label="failed",
        )
        login.edit(
            t + timedelta(minutes=2),
            "login.py",
            "    ...\n",
            "    user = USERS.get(email)\n"
            "    if user is None or user['password'] != password:\n"
            "        raise LoginError('wrong email or password')\n"
            "    return user\n",
        )
        login.bash(
            ago(hours=2), "pytest -q tests/test_login.py", "4 passed in 0.19s", 0, label="passed"
        )
        store.sessions.set_status(login.seeded.id, SessionStatus.IDLE)

        fork = store.sessions.fork(
            login.seeded.id, at_seq=oauth_at, name="Add login form (try OAuth)", now=ago(hours=25)
        )
        sessions["oauth"] = SeededSession(fork.id, fork.name, "feature/login")
        oauth = _Writer(store, sessions["oauth"], repo)
        t = ago(hours=25)
        oauth.prompt(t, "Try GitHub OAuth instead of passwords.", label="prompt")
        oauth.answer(
            t + timedelta(minutes=2),
            "GitHub OAuth needs a registered app and a callback URL; "
            "I stopped before adding secrets.",
        )
        store.sessions.set_status(fork.id, SessionStatus.IDLE)

        # main, forty minutes ago: the session the editor attaches to on start.
        speed = session("speed", "Speed up search", "main", ago(minutes=50))
        t = ago(minutes=50)
        speed.prompt(
            t, "Search is slow on big projects. Profile it and speed it up.", label="prompt"
        )
        speed.bash(
            t + timedelta(minutes=2),
            "python -m cProfile -s cumtime search.py | head",
            "  ncalls  tottime  cumtime\n  1200    0.912    1.304  search.py:12(score)",
            0,
        )
        speed.answer(
            t + timedelta(minutes=4),
            "`score` recomputes the token set for every hit; "
            "caching it per document makes search about 5x faster.",
        )
        speed.edit(
            t + timedelta(minutes=6),
            "search.py",
            "def score(doc, query):\n    tokens = set(doc.text.split())\n",
            "def score(doc, query):\n    tokens = doc.tokens  # cached with the document\n",
            label="edit",
        )
        speed.bash(ago(minutes=40), "pytest -q", "14 passed in 0.58s", 0)
    finally:
        store.close()
    return History(sessions)
