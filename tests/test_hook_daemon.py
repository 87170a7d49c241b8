"""The hook through `session-sidecar hook claude-code`: thin client, resident daemon, fallback.

Real processes throughout: the console entry (``python -m sidecar``) as
Claude Code runs it, a real daemon it starts in the background, real git
repositories and SQLite files. Each test has its own runtime folder, and a
fixture stops every daemon started under it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psutil
import pytest

from sidecar.agents import hook_client
from sidecar.agents.hook import MAX_INPUT_BYTES
from sidecar.agents.hook_daemon import CodeStamps, request_environment
from sidecar.store import Store
from tests.gitrepo import isolate_git_config, make_repo, switch

pytestmark = pytest.mark.timeout(120)

ENTRY = [sys.executable, "-m", "sidecar", "hook", "claude-code"]
SESSION = "5f0c1e2a-0000-4000-8000-00000000da3e"
WAIT_S = 30.0


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
    """Poll ``predicate`` until true; the daemon is another process with no event to await."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def daemons_under(folder: Path) -> list[psutil.Process]:
    """Daemon processes whose command line names a socket in ``folder``."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if any("hook_daemon" in part for part in cmdline) and any(
            str(folder) in part for part in cmdline
        ):
            found.append(proc)
    return found


class Client:
    """Runs `session-sidecar hook claude-code` like Claude Code: a process per event."""

    def __init__(self, tmp_path: Path, repo: Path, *, idle_s: float = 20) -> None:
        self.repo = repo
        self.runtime = tmp_path / "r"
        self.db = tmp_path / "data" / "sessions.db"
        self.state = tmp_path / "state"
        self.transcript = tmp_path / "transcript.jsonl"
        self.env = {
            **os.environ,
            "SIDECAR_RUNTIME_DIR": str(self.runtime),
            "SIDECAR_DB": str(self.db),
            "XDG_STATE_HOME": str(self.state),
            "SIDECAR_HOOK_IDLE_S": str(idle_s),
            "SIDECAR_HOOK_DEBUG": "1",
        }
        self.env.pop("SIDECAR_HOOK_DAEMON", None)

    def run(
        self, event: str, *, env: dict[str, str] | None = None, raw: bytes | None = None,
        args: tuple[str, ...] = (), **fields: Any,
    ) -> subprocess.CompletedProcess[bytes]:  # fmt: skip
        data = {
            "session_id": SESSION,
            "transcript_path": str(self.transcript),
            "cwd": str(self.repo),
            "hook_event_name": event,
            **fields,
        }
        stdin = raw if raw is not None else json.dumps(data).encode()
        return subprocess.run(
            [*ENTRY, *args],
            input=stdin,
            capture_output=True,
            env={**self.env, **(env or {})},
            timeout=60,
            check=False,
        )

    def paths(self) -> hook_client.DaemonPaths:
        """The daemon's files, as the client computes them (same interpreter and package)."""
        return hook_client.daemon_paths(self.env)

    def wait_for_daemon(self) -> int:
        """The pid of the daemon once it is ready (it writes its pid file then)."""
        pid_file = Path(self.paths().pid)
        wait_for(pid_file.exists, f"the daemon's pid file {pid_file}")
        return int(pid_file.read_text().strip())

    def log(self) -> str:
        path = self.state / "session-sidecar" / "hook.log"
        return path.read_text(encoding="utf-8") if path.exists() else ""


def served_by(proc: subprocess.CompletedProcess[bytes]) -> str:
    """Who answered, from the client's debug line on stderr."""
    assert proc.returncode == 0, proc.stderr.decode()
    lines = [line for line in proc.stderr.decode().splitlines() if "session-sidecar hook:" in line]
    assert lines, f"no debug line; stderr: {proc.stderr.decode()}"
    return lines[-1].split("session-sidecar hook: ", 1)[1]


def prompts(db: Path) -> list[str]:
    with Store.open(db) as store:
        session = store.sessions.find_by_provider_ref("claude-code", SESSION)
        if session is None:
            return []
        return [e.payload["text"] for e in store.events.page(session.id, kinds=["prompt"])]


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    isolate_git_config(monkeypatch, tmp_path / "home")
    monkeypatch.delenv("SIDECAR_HOOK_MODE", raising=False)
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    return make_repo(tmp_path)


@pytest.fixture
def client(tmp_path: Path, repo: Path) -> Iterator[Client]:
    """A client with its own runtime folder; every daemon started under it is stopped after."""
    made = Client(tmp_path, repo)
    yield made
    leftovers = daemons_under(made.runtime)
    for proc in leftovers:
        proc.send_signal(signal.SIGTERM)
    _, alive = psutil.wait_procs(leftovers, timeout=10)
    for proc in alive:
        proc.kill()
    psutil.wait_procs(alive, timeout=10)


def test_first_call_runs_in_process_and_starts_the_daemon_that_serves_the_next(
    tmp_path: Path, repo: Path, client: Client
) -> None:
    reference = Client(tmp_path / "ref", repo)  # the in-process path, its own database
    reference.env["SIDECAR_HOOK_DAEMON"] = "0"

    first = client.run("SessionStart", source="startup")
    assert b"additionalContext" not in first.stdout
    assert served_by(first).startswith("ran in process (no daemon listening")
    assert b"additionalContext" not in reference.run("SessionStart", source="startup").stdout
    pid = client.wait_for_daemon()
    assert psutil.pid_exists(pid)

    same_branch = client.run("UserPromptSubmit", prompt="fix the parser")
    assert served_by(same_branch) == f"served by daemon pid {pid}"
    assert same_branch.stdout == b""

    switch(repo, "feature", create=True)
    warm = client.run("UserPromptSubmit", prompt="add the login test")
    cold = reference.run("UserPromptSubmit", prompt="add the login test")
    assert served_by(warm) == f"served by daemon pid {pid}"
    assert served_by(cold) == "ran in process (daemon off)"
    assert warm.stdout == cold.stdout
    warning = json.loads(warm.stdout)["hookSpecificOutput"]["additionalContext"]
    assert "began on branch 'main'" in warning and "now on branch 'feature'" in warning
    with Store.open(client.db) as store:
        session = store.sessions.find_by_provider_ref("claude-code", SESSION)
        assert session is not None
        assert [e.kind.value for e in store.events.page(session.id)] == [
            "note", "prompt", "drift", "prompt",
        ]  # fmt: skip


def test_block_flag_goes_through_the_daemon(client: Client, repo: Path) -> None:
    client.run("SessionStart", source="startup")
    pid = client.wait_for_daemon()
    switch(repo, "feature", create=True)
    proc = client.run("UserPromptSubmit", prompt="go", args=("--block",))
    assert served_by(proc) == f"served by daemon pid {pid}"
    assert json.loads(proc.stdout)["decision"] == "block"


def test_calls_land_in_the_database_their_environment_names(tmp_path: Path, client: Client) -> None:
    other_db = tmp_path / "other" / "sessions.db"
    client.run("SessionStart", source="startup")
    pid = client.wait_for_daemon()

    to_other = client.run("UserPromptSubmit", prompt="to other", env={"SIDECAR_DB": str(other_db)})
    to_main = client.run("UserPromptSubmit", prompt="to main")

    assert served_by(to_other) == served_by(to_main) == f"served by daemon pid {pid}"
    assert prompts(client.db) == ["to main"]
    assert prompts(other_db) == ["to other"]


def test_a_stale_socket_file_is_replaced_by_a_new_daemon(client: Client) -> None:
    paths = client.paths()
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    address, fd = hook_client.unix_address(paths.socket)
    stale.bind(address)  # a socket file nobody listens on, as a killed daemon leaves it
    stale.close()
    if fd is not None:
        os.close(fd)
    assert os.path.exists(paths.socket)

    first = client.run("UserPromptSubmit", prompt="one")
    assert served_by(first).startswith("ran in process (no daemon listening (Connection refused")
    pid = client.wait_for_daemon()
    second = client.run("UserPromptSubmit", prompt="two")

    assert served_by(second) == f"served by daemon pid {pid}"
    assert [proc.pid for proc in daemons_under(client.runtime)] == [pid]
    assert prompts(client.db) == ["one", "two"]


def test_daemon_off_never_starts_one(client: Client) -> None:
    client.env["SIDECAR_HOOK_DAEMON"] = "0"
    for text in ("one", "two", "three"):
        proc = client.run("UserPromptSubmit", prompt=text)
        assert served_by(proc) == "ran in process (daemon off)"
    assert not client.runtime.exists()
    assert daemons_under(client.runtime) == []
    assert prompts(client.db) == ["one", "two", "three"]


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b"\xff\xfe{"])
def test_malformed_input_through_the_daemon_prints_nothing(client: Client, raw: bytes) -> None:
    client.run("SessionStart", source="startup")
    pid = client.wait_for_daemon()
    proc = client.run("UserPromptSubmit", raw=raw)
    assert served_by(proc) == f"served by daemon pid {pid}"
    assert proc.stdout == b""
    assert "HookInputError" in proc.stderr.decode()
    assert "error: HookInputError" in client.log()
    # and the daemon still serves
    assert served_by(client.run("UserPromptSubmit", prompt="next")) == f"served by daemon pid {pid}"


def test_idle_daemon_exits_and_removes_its_files(tmp_path: Path, repo: Path) -> None:
    client = Client(tmp_path, repo, idle_s=3)
    try:
        client.run("SessionStart", source="startup")
        # Found by its command line: with a short idle time it may be gone before we look twice.
        wait_for(lambda: bool(daemons_under(client.runtime)) or "started" in client.log(),
                 "the daemon to start")  # fmt: skip
        for proc in daemons_under(client.runtime):
            proc.wait(timeout=WAIT_S)
        assert "hook daemon started" in client.log()
        assert "hook daemon exits: idle for 3 s" in client.log()
        assert not os.path.exists(client.paths().socket)
        assert not os.path.exists(client.paths().pid)
    finally:
        for proc in daemons_under(client.runtime):
            proc.kill()


def test_removing_the_socket_file_stops_the_daemon(client: Client) -> None:
    client.run("SessionStart", source="startup")
    pid = client.wait_for_daemon()
    os.unlink(client.paths().socket)
    psutil.Process(pid).wait(timeout=WAIT_S)
    assert "socket file was removed or replaced" in client.log()


def test_concurrent_first_calls_leave_one_daemon_and_lose_nothing(client: Client) -> None:
    def call(i: int) -> subprocess.CompletedProcess[bytes]:
        return client.run(
            "PreToolUse", tool_name="Read", tool_use_id=f"t{i}", tool_input={"file_path": "a.py"}
        )

    with ThreadPoolExecutor(max_workers=6) as pool:
        procs = list(pool.map(call, range(6)))
    assert all(p.returncode == 0 and p.stdout == b"" for p in procs)
    client.wait_for_daemon()
    wait_for(lambda: len(daemons_under(client.runtime)) == 1, "the extra daemons to exit")
    with ThreadPoolExecutor(max_workers=6) as pool:
        procs += list(pool.map(call, range(6, 12)))
    with Store.open(client.db) as store:
        session = store.sessions.find_by_provider_ref("claude-code", SESSION)
        assert session is not None
        ids = sorted(e.client_event_id or "" for e in store.events.page(session.id))
    assert ids == sorted(f"cc:t{i}:call" for i in range(12))


def test_a_runtime_folder_others_can_enter_is_refused(client: Client) -> None:
    client.runtime.mkdir(mode=0o755)
    client.runtime.chmod(0o755)
    proc = client.run("UserPromptSubmit", prompt="hello")
    assert served_by(proc).startswith("ran in process (")
    assert "has mode 755" in client.log()
    assert list(client.runtime.iterdir()) == []
    assert daemons_under(client.runtime) == []
    assert prompts(client.db) == ["hello"]


def test_the_client_reads_as_much_input_as_the_hook() -> None:
    assert hook_client.MAX_INPUT_BYTES == MAX_INPUT_BYTES


def test_the_client_imports_only_the_standard_library() -> None:
    code = (
        "import sys; before = set(sys.modules); import sidecar.agents.hook_client; "
        "print(sorted(m for m in set(sys.modules) - before))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, timeout=60, check=True, text=True
    ).stdout
    loaded = [m.strip("' ") for m in out.strip("[]\n").split(",") if m.strip()]
    heavy = [m for m in loaded if m.split(".")[0] in ("pydantic", "sqlite3", "sidecar") and
             m not in ("sidecar", "sidecar.agents", "sidecar.agents.hook_client")]  # fmt: skip
    assert heavy == [], heavy


def test_a_call_environment_is_undone_even_when_it_cannot_be_applied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "repo").mkdir()
    before = dict(os.environ)
    with request_environment({"SIDECAR_DB": "/elsewhere.db"}, str(tmp_path / "repo")):
        assert os.environ == {"SIDECAR_DB": "/elsewhere.db"}
        assert Path.cwd() == tmp_path / "repo"
    assert dict(os.environ) == before
    with pytest.raises(ValueError), request_environment({"BAD": "nul\0byte"}, None):
        pass
    assert dict(os.environ) == before
    assert Path.cwd() == Path("/")  # the daemon's own folder, holding no one's directory


def test_code_stamps_notice_a_changed_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "probe.py"
    source.write_text("X = 1\n")
    module = type(sys)("sidecar._stamp_probe")
    module.__file__ = str(source)
    monkeypatch.setitem(sys.modules, "sidecar._stamp_probe", module)
    stamps = CodeStamps()
    assert stamps.changed() is None
    stat = source.stat()
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert stamps.changed() == str(source)


@pytest.mark.parametrize("kind", ["fifo", "device", "folder"])
def test_a_transcript_path_that_is_not_a_regular_file_is_refused_quickly(
    client: Client, tmp_path: Path, kind: str
) -> None:
    """A FIFO there used to block the resident helper for good (every later call
    then waited for the client's timeout and ran in process)."""
    if kind == "fifo":
        odd = tmp_path / "transcript.fifo"
        os.mkfifo(odd)
    elif kind == "device":
        odd = Path("/dev/zero")
    else:
        odd = tmp_path / "a-folder"
        odd.mkdir()
    client.run("SessionStart", source="startup")
    pid = client.wait_for_daemon()
    # A session the hook has not seen start: it reads the transcript's first branch.
    strange = client.run(
        "UserPromptSubmit", prompt="hello", session_id="mid-session", transcript_path=str(odd)
    )
    assert served_by(strange) == f"served by daemon pid {pid}"
    after = client.run("UserPromptSubmit", prompt="still there")
    assert served_by(after) == f"served by daemon pid {pid}"
    with Store.open(client.db) as store:
        session = store.sessions.find_by_provider_ref("claude-code", "mid-session")
        assert session is not None
        assert [e.payload["text"] for e in store.events.page(session.id, kinds=["prompt"])] == [
            "hello"
        ]
