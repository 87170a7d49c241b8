#!/usr/bin/env bash
# Installs the real agent CLIs the tests in tests/realagents run, at pinned versions,
# into .agents/ (npm registry only; nothing else is downloaded). Fails if any install fails.
set -euo pipefail
cd "$(dirname "$0")/.."
PACKAGES=(
    "@anthropic-ai/claude-code@2.1.328"
    "@openai/codex@0.169.0"
    "@google/gemini-cli@0.61.0"
    "@github/copilot@1.0.102"
    "opencode-ai@1.18.33"
)
mkdir -p .agents
want="$(printf '%s\n' "${PACKAGES[@]}")"
if [ -f .agents/installed ] && [ "$(cat .agents/installed)" = "$want" ] \
    && [ -x .agents/node_modules/.bin/claude ]; then
    exit 0
fi
npm install --prefix .agents --no-audit --no-fund --no-save --loglevel=error "${PACKAGES[@]}"
for bin in claude codex gemini copilot opencode; do
    if [ ! -x ".agents/node_modules/.bin/$bin" ]; then
        echo "install-agents: $bin is missing after npm install" >&2
        exit 1
    fi
done
printf '%s\n' "$want" > .agents/installed
