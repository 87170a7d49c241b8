#!/usr/bin/env bash
# Install what the VS Code end-to-end test needs: Chromium, ripgrep, the
# extension's npm dependencies and code-server 4.100.3 (VS Code 1.100.3, the
# last line that runs on Node 20). Idempotent: a second run is a no-op.
#
# Only Debian packages and the npm registry are reachable, so code-server's
# ripgrep dependency (which downloads a binary from elsewhere) is fed Debian's
# rg through its download cache first.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CODE_SERVER_VERSION="4.100.3"
# Folder name follows the @vscode/ripgrep version pinned by code-server.
RIPGREP_PKG_VERSION="1.15.11"
RIPGREP_TARBALL="ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz"
PREFIX="${CODE_SERVER_PREFIX:-$HERE/.code-server}"

log() { printf '[setup-code-server] %s\n' "$*" >&2; }

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v rg >/dev/null 2>&1 || need_apt+=(ripgrep)
dpkg -s libkrb5-dev >/dev/null 2>&1 || need_apt+=(libkrb5-dev)
if ((${#need_apt[@]})); then
    log "apt-get install ${need_apt[*]}"
    SUDO=""
    [[ $(id -u) -eq 0 ]] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# The extension's own packages (vscode-languageclient, typescript, vsce,
# playwright-core), reinstalled whenever package-lock.json changes.
lock_sum="$(sha256sum "$HERE/package-lock.json" | cut -d' ' -f1)"
stamp="$HERE/node_modules/.package-lock.sha256"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$lock_sum" ]]; then
    log "npm ci in $HERE"
    (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error)
    printf '%s\n' "$lock_sum" >"$stamp"
fi

# A private config home keeps "code-server --version" from writing into HOME.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

CS_BIN="$PREFIX/node_modules/.bin/code-server"
if [[ -x "$CS_BIN" ]] && XDG_CONFIG_HOME="$scratch" "$CS_BIN" --version 2>/dev/null | grep -q "^$CODE_SERVER_VERSION"; then
    log "code-server $CODE_SERVER_VERSION already installed in $PREFIX"
    exit 0
fi

cache="${TMPDIR:-/tmp}/vscode-ripgrep-cache-$RIPGREP_PKG_VERSION"
if [[ ! -s "$cache/$RIPGREP_TARBALL" ]]; then
    log "seeding ripgrep download cache with Debian's rg"
    cp "$(command -v rg)" "$scratch/rg"
    mkdir -p "$cache"
    tar -czf "$cache/$RIPGREP_TARBALL" -C "$scratch" rg
fi

log "npm install code-server@$CODE_SERVER_VERSION into $PREFIX"
mkdir -p "$PREFIX"
[[ -f "$PREFIX/package.json" ]] || printf '{"name":"code-server-cache","private":true}\n' >"$PREFIX/package.json"
(
    cd "$PREFIX"
    # As root the post-install scripts need unsafe-perm; node-pty's build runs npx.
    npm_config_unsafe_perm=true npm_config_yes=true \
        npm install --no-audit --no-fund --loglevel=error --foreground-scripts \
        "code-server@$CODE_SERVER_VERSION" >"$PREFIX/install.log" 2>&1 ||
        { tail -50 "$PREFIX/install.log" >&2; exit 1; }
)
XDG_CONFIG_HOME="$scratch" "$CS_BIN" --version >&2
log "done"
