"""The protocol models, the method registry and the generated files agree."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError
from pygls.exceptions import JsonRpcInvalidParams

from scripts.gen_protocol import OUTPUTS, methods
from sidecar.protocol import messages as m
from sidecar.protocol.notifications import NOTIFICATIONS
from sidecar.server.config import Settings, merge_settings
from sidecar.server.feature import Feature, command_name, declared_methods, request
from sidecar.server.setup import FEATURES, create_server
from sidecar.server.validation import field_path, parse_params
from sidecar.services.errors import InvalidArgument
from sidecar.services.export import check_export_path
from sidecar.store import Store, holder_is_gone, new_holder_id

METHODS = {decl.name: decl for decl in methods()}


def test_every_declared_method_has_models_a_summary_and_is_registered() -> None:
    assert len(METHODS) == 28
    for decl in METHODS.values():
        assert issubclass(decl.params, m.Params), decl.name
        assert issubclass(decl.result, m.Model), decl.name
        assert decl.summary, decl.name
    server = create_server()
    registered = set(server.protocol.fm.features)
    commands = set(server.protocol.fm.commands)
    for name, decl in METHODS.items():
        assert name in registered, name
        assert decl.command in commands, decl.command
    for note in NOTIFICATIONS:
        assert issubclass(getattr(m, note.params), m.Model), note.name


def test_a_method_declared_twice_is_refused() -> None:
    class One(Feature):
        @request("sidecar/x")
        def first(self, p: m.StatusParams) -> m.StatusResult:
            raise NotImplementedError

    class Two(Feature):
        @request("sidecar/x")
        def second(self, p: m.StatusParams) -> m.StatusResult:
            raise NotImplementedError

    with pytest.raises(ValueError, match="declared twice"):
        list(declared_methods([One, Two]))
    assert [d.name for d in declared_methods(FEATURES)] == list(METHODS)


def test_command_names() -> None:
    assert command_name("sidecar/sessions/list") == "sidecar.sessions.list"
    assert len({command_name(name) for name in METHODS}) == len(METHODS)


@pytest.mark.parametrize("path, make", OUTPUTS, ids=lambda v: getattr(v, "name", ""))
def test_generated_files_are_up_to_date(path: Path, make: object) -> None:
    assert callable(make)
    assert path.read_text(encoding="utf-8") == make(), (
        f"{path.name} is out of date: run python scripts/gen_protocol.py"
    )


def test_check_mode_passes_on_the_committed_files(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "scripts/gen_protocol.py", "--check"],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("method", list(METHODS))
def test_params_reject_unknown_fields_and_use_camel_case(method: str) -> None:
    model = METHODS[method].params
    with pytest.raises(ValidationError) as err:
        model.model_validate_json('{"surelyNotAField": 1}')
    assert any(e["type"] == "extra_forbidden" for e in err.value.errors())
    for name, field in model.model_fields.items():
        alias = field.alias or name
        assert "_" not in alias, f"{method}.{alias} is not camelCase"


def test_params_are_strict() -> None:
    with pytest.raises(ValidationError):
        m.ListParams.model_validate_json('{"limit": "5"}')
    for confirm in ("1", "false", '"yes"'):
        with pytest.raises(ValidationError):
            m.DeleteParams.model_validate_json(f'{{"sessionId": "a", "confirm": {confirm}}}')
    ok = m.AppendParams.model_validate_json(
        '{"events": [{"kind": "prompt", "time": "2024-01-02T03:04:05Z", "clientEventId": "c1"}]}'
    )
    assert ok.events[0].client_event_id == "c1"


def test_field_paths_and_messages() -> None:
    assert field_path(("events", 3, "payload")) == "events[3].payload"
    assert field_path(()) == "params"
    with pytest.raises(JsonRpcInvalidParams) as err:
        parse_params(m.AppendParams, {"events": [{"kind": "x"}]}, "sidecar/events/append")
    assert err.value.message.startswith("invalid params for sidecar/events/append: events[0].kind")
    assert err.value.data[0]["field"] == "events[0].kind"
    assert err.value.data[0]["got"] == '"x"'
    assert parse_params(m.StatusParams, None, "sidecar/status").folder is None


def test_settings_merge_nested_flat_and_bad_values() -> None:
    settings, problems = merge_settings(
        Settings(), {"sessionSidecar": {"prompts": "custom", "staleHours": 2}}
    )
    assert (settings.prompts, settings.stale_hours, problems) == ("custom", 2, [])
    flat, problems = merge_settings(settings, {"prompts": "loud", "task": "ADR-1"})
    assert flat.prompts == "custom" and flat.task == "ADR-1"
    assert problems and problems[0].startswith("prompts:")
    same, problems = merge_settings(flat, "not a mapping")
    assert same == flat and problems == []


def test_export_paths_are_confined(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "sub").mkdir(parents=True)
    (tmp_path / "data").mkdir(mode=0o700)
    with Store.open(tmp_path / "data" / "sessions.db") as store:
        roots = [root.resolve()]

        def check(path: str) -> Path:
            return check_export_path(path, roots, store)

        assert check(str(root / "sub" / "a.md")) == root / "sub" / "a.md"
        assert check("rel.md") == root / "rel.md"
        for bad in (str(tmp_path / "a.md"), str(root / ".." / "a.md"), "/etc/passwd"):
            with pytest.raises(InvalidArgument):
                check(bad)
        (root / "link").symlink_to(tmp_path)
        with pytest.raises(InvalidArgument):
            check(str(root / "link" / "escape.md"))
        with pytest.raises(InvalidArgument):
            check(str(root / "sub"))


def test_holder_liveness() -> None:
    assert not holder_is_gone(new_holder_id())  # this process
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait(timeout=30)
    machine = new_holder_id().split(":")[0]
    assert holder_is_gone(f"{machine}:{proc.pid}:abcd")
    assert not holder_is_gone(f"another-machine:{proc.pid}:abcd")
    assert not holder_is_gone("some-other-shape")
    assert not holder_is_gone(f"{machine}:{os.getppid()}:abcd")


@pytest.mark.parametrize("argv", [["--help"], ["--verbose"]])
def test_fast_serve_path_defers_to_the_full_cli(argv: list[str]) -> None:
    from sidecar.server.serve import run_from_argv

    assert run_from_argv(argv) is None


@pytest.mark.parametrize("argv", [["--tcp"], ["--ws"], ["--port=2087"], ["--host", "::1"]])
def test_fast_serve_path_refuses_the_removed_network_transports(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    from sidecar.server.serve import run_from_argv

    assert run_from_argv(argv) == 2
    assert "stdio only" in capsys.readouterr().err
