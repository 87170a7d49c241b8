"""The layers of docs/architecture.md hold: imports only point down, and no package cycles.

Every import counts: module level, inside functions, under ``TYPE_CHECKING``,
and the server's lazy imports (``lazy("sidecar.x")``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "sidecar"

BELOW_SERVICES = {"core", "importers", "git", "store"}
BELOW_DOORS = BELOW_SERVICES | {"services", "watch", "protocol", "telemetry"}
#: What each package may import (besides itself and the ``sidecar`` root module).
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "importers": {"core"},
    "git": {"core"},
    "store": {"core"},
    "services": BELOW_SERVICES,
    "watch": {"core"},
    "protocol": {"core"},
    "telemetry": {"core", "store"},
    "server": BELOW_DOORS,
    "agents": BELOW_DOORS,
    "cli": BELOW_DOORS | {"server", "agents"},
}


def _imports(path: Path) -> set[str]:
    """Every ``sidecar.*`` module ``path`` imports, by any of the ways listed above."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(path.relative_to(ROOT.parent).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                found.add(f"{base}.{node.module}" if node.module else base)
            elif node.module:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "lazy"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value)
    return {name for name in found if name.startswith("sidecar.")}


def _package(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and (ROOT / parts[1]).is_dir() else None


MODULES = sorted(p for p in ROOT.rglob("*.py") if p.parent != ROOT)


def test_every_package_is_placed_in_a_layer() -> None:
    packages = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages == set(ALLOWED)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_only_point_down(path: Path) -> None:
    own = path.relative_to(ROOT).parts[0]
    upward = sorted(
        module
        for module in _imports(path)
        if (target := _package(module)) is not None and target != own and target not in ALLOWED[own]
    )
    assert upward == [], f"{path.relative_to(ROOT)} ({own}) imports above its layer: {upward}"


def test_packages_have_no_cycles() -> None:
    graph: dict[str, set[str]] = {name: set() for name in ALLOWED}
    for path in MODULES:
        own = path.relative_to(ROOT).parts[0]
        for module in _imports(path):
            target = _package(module)
            if target is not None and target != own:
                graph[own].add(target)
    visiting: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> None:
        if node in done:
            return
        assert node not in visiting, f"import cycle: {' -> '.join([*visiting, node])}"
        visiting.append(node)
        for nxt in sorted(graph[node]):
            visit(nxt)
        visiting.pop()
        done.add(node)

    for name in sorted(graph):
        visit(name)
