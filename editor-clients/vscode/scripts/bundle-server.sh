#!/usr/bin/env bash
# Put the Session Sidecar server into the extension: its wheel and the wheels
# of every dependency, for this platform and each CPython minor from 3.11 on
# that has them, into bundled/wheels, with bundled/manifest.json saying what is
# there. On first start the extension installs them with
# `pip install --no-index --find-links` into a private environment: the
# installed extension never downloads anything.
#
# Downloads come from PyPI at build time only. The dependency wheels are cached
# in .bundle-cache/ and fetched again when pyproject.toml, this script or the
# platform changes; the server's own wheel is built fresh from the checkout.
#
# Environment: PYTHON (default python3) runs pip; SIDECAR_BUNDLE_PYTHONS
# (default "3.11 3.12 3.13 3.14") lists the CPython minors to bundle.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PY="${PYTHON:-python3}"
MINORS=(${SIDECAR_BUNDLE_PYTHONS:-3.11 3.12 3.13 3.14})
OUT="$HERE/bundled"
CACHE="$HERE/.bundle-cache"

log() { printf '[bundle-server] %s\n' "$*" >&2; }

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

# Built from a copy: an in-tree build leaves build/ and *.egg-info behind, and
# a stale build/lib would carry modules deleted since.
log "building the server's wheel from $ROOT"
mkdir -p "$scratch/src"
cp "$ROOT/pyproject.toml" "$ROOT/README.md" "$scratch/src/"
[[ -f "$ROOT/LICENSE" ]] && cp "$ROOT/LICENSE" "$scratch/src/"
(cd "$ROOT" && tar --exclude=__pycache__ -cf - sidecar) | tar -xf - -C "$scratch/src"
"$PY" -m pip wheel -q --disable-pip-version-check --no-deps -w "$scratch/server" "$scratch/src" >&2
server_wheel="$(ls "$scratch/server"/session_sidecar-*.whl)"

platform="$("$PY" -c 'import sysconfig; print(sysconfig.get_platform())')"
# The same platform as Node names it, which the extension compares with its own.
target="$(node -p 'process.platform + "-" + process.arch')"
key="$(cat "$ROOT/pyproject.toml" "${BASH_SOURCE[0]}" <(printf '%s %s %s' "$platform" "$target" "${MINORS[*]}") | sha256sum | cut -c1-16)"
deps="$CACHE/$key"
if [[ ! -f "$deps/.complete" ]]; then
    rm -rf "$CACHE"
    mkdir -p "$deps"
    supported=()
    for minor in "${MINORS[@]}"; do
        log "downloading the dependency wheels for CPython $minor ($platform)"
        # pip evaluates markers with the interpreter running it, not the target
        # version: hand it the server's requirements evaluated for the target.
        "$PY" - "$server_wheel" "$minor" >"$scratch/req-$minor.txt" <<'EOF'
import sys, zipfile
from email.parser import Parser
try:
    from packaging.requirements import Requirement
except ImportError:
    from pip._vendor.packaging.requirements import Requirement
wheel, minor = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as zf:
    name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
    meta = Parser().parsestr(zf.read(name).decode())
env = {"python_version": minor, "python_full_version": minor + ".0", "extra": ""}
for line in meta.get_all("Requires-Dist") or []:
    req = Requirement(line)
    if req.marker is None or req.marker.evaluate(env):
        req.marker = None
        print(req)
EOF
        if "$PY" -m pip download -q --disable-pip-version-check --only-binary=:all: \
            --python-version "$minor" --implementation cp -d "$scratch/dl-$minor" \
            -r "$scratch/req-$minor.txt" pip >"$scratch/dl-$minor.log" 2>&1; then
            supported+=("$minor")
            cp -f "$scratch/dl-$minor"/*.whl "$deps/"
        else
            log "no complete set of wheels for CPython $minor, left out:"
            grep -E '^ERROR' "$scratch/dl-$minor.log" | head -3 >&2 || true
        fi
    done
    ((${#supported[@]})) || { log "no Python version has a complete set of wheels"; exit 1; }
    printf '%s\n' "${supported[@]}" >"$deps/.pythons"
    touch "$deps/.complete"
else
    log "dependency wheels from $deps"
fi

rm -rf "$OUT"
mkdir -p "$OUT/wheels"
cp "$deps"/*.whl "$server_wheel" "$OUT/wheels/"

"$PY" - "$OUT" "$target" "$deps/.pythons" <<'EOF'
import hashlib, json, pathlib, sys
out, target, pythons = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3]
wheels = sorted((out / "wheels").glob("*.whl"))
digest = hashlib.sha256()
for wheel in wheels:
    digest.update(wheel.name.encode() + b"\0" + hashlib.sha256(wheel.read_bytes()).digest())
server = next(w.name for w in wheels if w.name.startswith("session_sidecar-"))
pip = next(w.name for w in wheels if w.name.startswith("pip-"))
manifest = {
    # Changes whenever any wheel changes: the extension reinstalls then.
    "bundleId": digest.hexdigest()[:16],
    "serverVersion": server.split("-")[1],
    "serverWheel": server,
    "pipWheel": pip,
    # process.platform-process.arch of the machine the wheels are for.
    "target": target,
    "pythons": pathlib.Path(pythons).read_text().split(),
}
(out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
print(json.dumps(manifest), file=sys.stderr)
EOF
log "bundled $(ls "$OUT/wheels" | wc -l) wheels, $(du -sh "$OUT" | cut -f1)"
