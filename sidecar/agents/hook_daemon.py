"""The resident hook helper: runs Claude Code hook calls for thin clients.

:mod:`sidecar.agents.hook_client` starts it when no daemon answers. It
imports the hook, the models and the store once, then serves calls on a
Unix socket, one at a time (a call takes a few milliseconds), each with the
caller's environment and working folder, so sessions that use different
``SIDECAR_DB`` values or git configurations each get their own. It keeps a
few stores open, one per database file.

Life cycle: one daemon per user, package version and interpreter, ensured by
a lock file held for its whole life; a socket file left by a dead daemon is
replaced. It exits after ``SIDECAR_HOOK_IDLE_S`` seconds without a call
(default 15 minutes), when its socket file disappears or is replaced, when
its own code changes on disk (an upgrade or an edit), or on SIGTERM; it then
removes its socket and pid files. Only processes of the same user may call
it: the folder is private and, on Linux, the peer's uid is checked.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import struct
import sys
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from sidecar import __version__
from sidecar.agents import hook_client as wire

if TYPE_CHECKING:
    from sidecar.store import Store

IDLE_VARIABLE = "SIDECAR_HOOK_IDLE_S"
DEFAULT_IDLE_S = 15 * 60.0
#: A client that connects and then stalls holds the daemon no longer than this.
REQUEST_TIMEOUT_S = 5.0
#: How long a daemon waits for the lock of one that is exiting.
LOCK_WAIT_S = 5.0
STORE_CACHE_SIZE = 8
BACKLOG = 64
_PEER_CRED = struct.Struct("3i")


def idle_seconds(environ: Mapping[str, str]) -> float:
    """``$SIDECAR_HOOK_IDLE_S`` when it is a positive number, else 15 minutes."""
    try:
        value = float(environ.get(IDLE_VARIABLE, ""))
    except ValueError:
        return DEFAULT_IDLE_S
    return value if value > 0 else DEFAULT_IDLE_S


@contextlib.contextmanager
def request_environment(environ: Mapping[str, str], cwd: str | None) -> Iterator[None]:
    """Run a call with the caller's environment and working folder, then restore ours.

    The hook, git config lookup, platformdirs and getpass all read
    ``os.environ``; swapping it is safe because calls run one at a time.
    """
    saved = os.environ.copy()
    try:
        os.environ.clear()
        os.environ.update(environ)
        if cwd:
            with contextlib.suppress(OSError):
                os.chdir(cwd)
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
        with contextlib.suppress(OSError):
            os.chdir("/")


class StoreCache:
    """Open stores by database path, reopened when the file is replaced or a call failed.

    Stores are used by the daemon's one thread only (the store's rule: one per thread).
    """

    def __init__(self, size: int = STORE_CACHE_SIZE) -> None:
        self._size = size
        self._stores: dict[str, tuple[Store, tuple[int, int]]] = {}

    def get(self, path: str) -> Store:
        """The open store for ``path``, opening (creating, migrating) it when needed."""
        from sidecar.store import Store

        entry = self._stores.pop(path, None)
        if entry is not None:
            if _identity(path) == entry[1]:
                self._stores[path] = entry  # most recently used last
                return entry[0]
            entry[0].close()  # the file was moved aside or deleted: do not write to a ghost
        store = Store.open(path)
        identity = _identity(path)
        if identity is None:
            store.close()
            raise FileNotFoundError(f"the database {path} vanished while opening it")
        self._stores[path] = (store, identity)
        while len(self._stores) > self._size:
            oldest = next(iter(self._stores))
            self._stores.pop(oldest)[0].close()
        return store

    def discard(self, path: str) -> None:
        """Close and forget the store of ``path`` (after a failed call)."""
        entry = self._stores.pop(path, None)
        if entry is not None:
            entry[0].close()

    def close(self) -> None:
        """Close every store."""
        for store, _ in self._stores.values():
            store.close()
        self._stores.clear()


def _identity(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


class CodeStamps:
    """Modification times of the loaded ``sidecar`` modules, to notice an upgrade or edit."""

    def __init__(self) -> None:
        self._stamps: dict[str, int] = {}
        self.changed()

    def changed(self) -> str | None:
        """The first module file changed since it was first seen, else None (records new ones)."""
        for name, module in list(sys.modules.items()):
            if name != "sidecar" and not name.startswith("sidecar."):
                continue
            path = getattr(module, "__file__", None)
            if not isinstance(path, str):
                continue
            try:
                stamp = os.stat(path).st_mtime_ns
            except OSError:
                stamp = -1
            known = self._stamps.setdefault(path, stamp)
            if known != stamp:
                return path
        return None


class HookDaemon:
    """Serves hook calls on a listening socket until a reason to stop comes up."""

    def __init__(self, paths: wire.DaemonPaths, listener: socket.socket, idle_s: float) -> None:
        self.paths = paths
        self.listener = listener
        self.idle_s = idle_s
        self.stores = StoreCache()
        self.code = CodeStamps()
        self.identity = _identity(paths.socket)
        self.last_call = time.monotonic()
        self.stop_reason: str | None = None

    def serve(self) -> str:
        """Accept and serve calls; returns why it stopped."""
        tick = max(0.05, min(1.0, self.idle_s / 4))
        self.listener.settimeout(tick)
        self.last_call = time.monotonic()  # the warm-up does not count as idle time
        while self.stop_reason is None:
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                self.stop_reason = self._reason_to_stop()
                continue
            with conn:
                self._serve_one(conn)
            self.last_call = time.monotonic()
            if self.stop_reason is None and _identity(self.paths.socket) != self.identity:
                self.stop_reason = "its socket file was removed or replaced"
        return self.stop_reason

    def _reason_to_stop(self) -> str | None:
        if time.monotonic() - self.last_call >= self.idle_s:
            return f"idle for {self.idle_s:g} s"
        if _identity(self.paths.socket) != self.identity:
            return "its socket file was removed or replaced"
        changed = self.code.changed()
        if changed is not None:
            return f"its code changed on disk ({changed})"
        return None

    def _serve_one(self, conn: socket.socket) -> None:
        deadline = time.monotonic() + REQUEST_TIMEOUT_S
        refusal = _foreign_peer(conn)
        if refusal is not None:
            _log(f"hook daemon refused a connection: {refusal}")
            return
        changed = self.code.changed()
        greeting: dict[str, Any] = {
            "protocol": wire.PROTOCOL,
            "version": __version__,
            "pid": os.getpid(),
            "ok": changed is None,
        }
        if changed is not None:
            # Retire before answering, so the client's replacement finds the way clear.
            self.stop_reason = f"its code changed on disk ({changed})"
            greeting["reason"] = "code changed"
            self._remove_socket()
        try:
            wire.send_frame(conn, json.dumps(greeting).encode(), deadline)
            if changed is not None:
                return
            header = wire.decode(wire.recv_frame(conn, wire.MAX_HEADER_BYTES, deadline))
            raw = wire.recv_frame(conn, wire.MAX_INPUT_BYTES + 1, deadline)
        except (OSError, ValueError):
            return  # the client gave up before sending all of its call: it runs it itself
        try:
            stdout, stderr = self._run(header, raw)
        except Exception as error:  # e.g. an environment variable putenv refuses
            _log(f"hook daemon could not run a call: {type(error).__name__}: {error}")
            stdout, stderr = "", f"session-sidecar hook: the hook daemon failed: {error}\n"
        answer = {"stdout": stdout, "stderr": stderr, "pid": os.getpid()}
        with contextlib.suppress(OSError):
            wire.send_frame(conn, json.dumps(answer).encode(), time.monotonic() + REQUEST_TIMEOUT_S)

    def _run(self, header: dict[str, object], raw: bytes) -> tuple[str, str]:
        """Run one call with the caller's environment; returns (stdout, stderr)."""
        from sidecar.agents.hook import handle
        from sidecar.store.paths import default_db_path

        env, cwd, block = header.get("env"), header.get("cwd"), header.get("block")
        agent = header.get("agent", "claude-code")  # a client of the first protocol sends none
        if not (
            isinstance(agent, str)
            and isinstance(env, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in env.items())
            and (cwd is None or isinstance(cwd, str))
            and isinstance(block, bool)
        ):
            _log("hook daemon got a malformed call header")
            return "", "session-sidecar hook: the hook daemon got a malformed call\n"
        with request_environment(env, cwd):
            try:
                db = os.path.abspath(default_db_path())
            except Exception as error:  # let the call itself report it
                _log(f"hook daemon cannot resolve the database path: {error}")
                return handle(agent, raw, block=block, environ=env)
            try:
                store: Store | None = self.stores.get(db)
            except Exception:
                store = None  # the call opens it itself and logs why it cannot
            stdout, stderr = handle(agent, raw, block=block, environ=env, store=store)
            if stderr:
                self.stores.discard(db)
            return stdout, stderr

    def _remove_socket(self) -> None:
        """Remove the socket file if it is still this daemon's."""
        if self.identity is not None and _identity(self.paths.socket) == self.identity:
            with contextlib.suppress(OSError):
                os.unlink(self.paths.socket)
        self.identity = None

    def close(self) -> None:
        """Stop listening, remove this daemon's files, close the stores."""
        self._remove_socket()
        self.listener.close()
        with contextlib.suppress(OSError):
            with open(self.paths.pid, encoding="ascii") as handle:
                mine = handle.read().strip() == str(os.getpid())
            if mine:
                os.unlink(self.paths.pid)
        self.stores.close()


def _foreign_peer(conn: socket.socket) -> str | None:
    """Why the peer may not call (another user), else None. Linux only; the folder guards too."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return None
    try:
        pid, uid, _ = _PEER_CRED.unpack(conn.getsockopt(socket.SOL_SOCKET, option, _PEER_CRED.size))
    except OSError as error:
        return f"cannot read the peer's credentials: {error}"
    return None if uid == os.getuid() else f"pid {pid} runs as uid {uid}"


def _log(message: str) -> None:
    from sidecar.agents.hook import _log as hook_log

    hook_log(message)


def _take_lock(paths: wire.DaemonPaths) -> int | None:
    """The lock file's descriptor once this process holds it; None if a live daemon has it."""
    fd = os.open(paths.lock, os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + LOCK_WAIT_S
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            # Another daemon: serving (its socket exists), or exiting (it removes its socket
            # first, then lets go of the lock), or starting (it binds soon).
            if os.path.exists(paths.socket) or time.monotonic() >= deadline:
                os.close(fd)
                return None
            time.sleep(0.05)


def _listen(paths: wire.DaemonPaths) -> socket.socket:
    """Bind under a temporary name and rename, so clients never meet a half-made socket."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(paths.socket)  # we hold the lock: whoever made it is gone
    temporary = f"{paths.socket}.{os.getpid()}.tmp"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        address, fd = wire.unix_address(temporary)
        try:
            listener.bind(address)
        finally:
            if fd is not None:
                os.close(fd)
        os.chmod(temporary, 0o600)
        listener.listen(BACKLOG)
        os.rename(temporary, paths.socket)
    except BaseException:
        listener.close()
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return listener


def _write_pid(paths: wire.DaemonPaths) -> None:
    temporary = f"{paths.pid}.{os.getpid()}.tmp"
    with open(temporary, "w", encoding="ascii") as handle:
        handle.write(f"{os.getpid()}\n")
    os.replace(temporary, paths.pid)


def _warm_up() -> None:
    """Run a few calls on a throwaway store so the first real call pays no first-use costs."""
    from sidecar.agents.hook import run
    from sidecar.store import Store

    calls: list[dict[str, Any]] = [
        {"hook_event_name": "SessionStart", "source": "startup"},
        {"hook_event_name": "UserPromptSubmit", "prompt": "warm up"},
        {"hook_event_name": "PreToolUse", "tool_name": "Read", "tool_use_id": "w",
         "tool_input": {"file_path": "a.py"}},
        {"hook_event_name": "PostToolUse", "tool_name": "Read", "tool_use_id": "w",
         "tool_response": "ok"},
    ]  # fmt: skip
    with Store.open(":memory:") as store:
        for call in calls:
            raw = json.dumps({"session_id": "warm-up", "cwd": "/", **call}).encode()
            with contextlib.suppress(Exception):
                run("claude-code", raw, mode="off", store=store)


def _on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> int:
    """``python -m sidecar.agents.hook_daemon SOCKET``: serve until idle; 0 when all went well."""
    args = sys.argv[1:] if argv is None else argv
    try:
        paths = wire.daemon_paths(os.environ)
    except (OSError, wire.UnsafeRuntimeDir) as error:
        _log(f"hook daemon not started: {error}")
        return 1
    if args and os.path.abspath(args[0]) != paths.socket:
        # It imported another copy of the package than its client: it would serve old code.
        _log(f"hook daemon not started: asked for {args[0]}, this copy serves {paths.socket}")
        return 1
    lock = _take_lock(paths)
    if lock is None:
        return 0  # another daemon serves
    signal.signal(signal.SIGTERM, _on_sigterm)
    daemon: HookDaemon | None = None
    try:
        listener = _listen(paths)
        daemon = HookDaemon(paths, listener, idle_seconds(os.environ))
        _warm_up()
        daemon.code.changed()  # record the modules the warm-up imported
        _write_pid(paths)  # also says "ready": calls are answered without first-use costs
        _log(f"hook daemon started: {paths.socket}")
        reason = daemon.serve()
        _log(f"hook daemon exits: {reason}")
    except SystemExit:
        _log("hook daemon exits: terminated")
    except Exception as error:
        _log(f"hook daemon failed: {type(error).__name__}: {error}")
        return 1
    finally:
        if daemon is not None:
            daemon.close()
        os.close(lock)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
