#!/usr/bin/env bash
# The one build command (`npm run package [-- -o FILE.vsix]`): installs the npm
# dependencies if missing, bundles the server's wheels (scripts/bundle-server.sh),
# compiles and packages the extension with vsce. Prints the .vsix path last.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$HERE/session-sidecar.vsix"
while (($#)); do
    case "$1" in
        -o | --out) out="$2"; shift 2 ;;
        *) echo "usage: npm run package [-- -o FILE.vsix]" >&2; exit 2 ;;
    esac
done
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac

cd "$HERE"
[[ -x node_modules/.bin/vsce ]] || npm ci --no-audit --no-fund --loglevel=error >&2
bash scripts/bundle-server.sh
# vsce runs "vscode:prepublish" (tsc) first.
npx --no-install vsce package -o "$out" >&2
printf '%s\n' "$out"
