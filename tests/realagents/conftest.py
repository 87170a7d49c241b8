"""Fixtures for the real agent CLIs (installed by scripts/install-agents.sh)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.gitrepo import isolate_git_config
from tests.realagents.mockmodel import ModelMock
from tests.realagents.sandbox import Sandbox


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    isolate_git_config(monkeypatch, tmp_path / "home-git")
    return Sandbox(tmp_path / "world")


@pytest.fixture
def mock() -> Iterator[ModelMock]:
    server = ModelMock().start()
    yield server
    server.stop()
