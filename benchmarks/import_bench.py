"""Import throughput on real agent transcripts (SPEC 9: >= 10,000 events/s).

    python benchmarks/import_bench.py                  # ~200,000 events per tool, 5 runs
    python benchmarks/import_bench.py --quick          # ~20,000 events, 3 runs
    python benchmarks/import_bench.py --events 50000 --runs 3 --provider codex --json out.json
    python benchmarks/import_bench.py --quick --profile /tmp/import.prof  # + one cProfile'd run

The transcripts are session files the real CLIs wrote
(``tests/fixtures/agents/real/``; the older hand-written fixtures when those
are missing), scaled up: their turns are repeated with fresh uuids and tool
call ids and increasing timestamps until the file holds about ``--events``
events, so every line has a shape a real CLI writes (attachments, API request
records, cost lines... that the importer reads and skips). Placeholders of the
fixtures point at a real git repository made for the run.

Each run is ``session-sidecar import <tool> FILE --db NEW.db --json`` in a
fresh interpreter (the console entry called in process, so the clock starts
before the sidecar's modules are imported and covers the store's open, the
parse, the appends and the close), into a fresh database. Figures, per tool:

- events/s: events stored / that time, median of the runs; p95 is the events/s
  of the p95 run time (the slow end). The spawn -> exit wall time is kept too.
- peak RSS of the import process (``os.wait4``'s rusage of the child).
- the anchor, in the same run: a raw read of the same file (``json.loads`` of
  every line, no store) in a fresh interpreter, as events/s of the same count.
- a no-op re-import: the same command again on the same database (it must add
  nothing: the cursor says the file was read). Its time is the fixed cost of a
  run (modules, store open, the cursor); ``marginal_events_per_s`` leaves it out.

Not a test: machines are noisy, compare figures within one run.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import redirect_stdout
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "agents"
BUDGET_EVENTS_PER_S = 10_000.0
PROVIDERS = ("claude-code", "codex")

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_PREFIXED = r"\b(?:toolu|call|msg|fco|fc|resp)_(?=[A-Za-z-]*[0-9])[A-Za-z0-9-]+"
_TIME = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z"
_ORDINAL = r'"ordinal":\d+'
#: What changes from one copy of the turns to the next: ids, times, Codex's line ordinal.
_TOKEN = re.compile(f"({_PREFIXED}|{_UUID}|{_TIME}|{_ORDINAL})")


@dataclass(frozen=True)
class Seed:
    """A real session file of one tool and where the scaled copy goes."""

    provider: str
    path: Path
    session_id: str
    header_lines: int
    """Lines written once (Codex's ``session_meta``); the rest is repeated."""

    def target(self, home: Path, repo: Path) -> Path:
        if self.provider == "claude-code":
            slug = re.sub(r"[^A-Za-z0-9]", "-", str(repo))
            return home / ".claude" / "projects" / slug / self.path.name
        return home / ".codex" / "sessions" / "2026" / "12" / "02" / self.path.name


def find_seed(provider: str) -> Seed:
    """The real CLI's file if saved, else the older hand-written fixture."""
    if provider == "claude-code":
        real = sorted((FIXTURES / "real" / "claude-code").glob("*.jsonl"))
        path = (
            real[0]
            if real
            else FIXTURES
            / "claude"
            / "projects"
            / "-home-u-app"
            / ("11111111-1111-4111-8111-111111111111.jsonl")
        )
        return Seed(provider, path, path.stem, 0)
    real = sorted((FIXTURES / "real" / "codex").glob("rollout-*.jsonl"))
    path = real[0] if real else next((FIXTURES / "codex" / "sessions").rglob("rollout-*.jsonl"))
    return Seed(provider, path, path.stem[-36:], 1)


def fill_placeholders(text: str, repo: Path, home: Path) -> str:
    """The fixtures' scratch paths (``@REPO@``...) pointed at this run's folders."""
    slug = str(repo).replace("/", "-").replace("_", "-")
    for placeholder, value in (
        ("@REPO_SLUG@", slug), ("@REPO@", str(repo)), ("@HOME@", str(home)),
        ("@SCRATCH@", str(home.parent)),
    ):  # fmt: skip
        text = text.replace(placeholder, value)
    return text


def _parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


class Scaler:
    """Writes a seed's turns ``copies`` times with fresh ids and later times."""

    def __init__(self, seed: Seed, text: str) -> None:
        lines = [line for line in text.splitlines() if line.strip()]
        self.header = lines[: seed.header_lines]
        body = lines[seed.header_lines :]
        self.body_lines = len(body)
        tokens: dict[str, int] = {}
        self.templates: list[str] = []
        for line in body:
            parts = _TOKEN.split(line)
            out = []
            for i, part in enumerate(parts):
                if i % 2 == 0:
                    out.append(part.replace("{", "{{").replace("}", "}}"))
                else:
                    out.append("{" + str(tokens.setdefault(part, len(tokens))) + "}")
            self.templates.append("".join(out))
        self.tokens = list(tokens)
        times = [_parse_iso(t) for t in self.tokens if re.fullmatch(_TIME, t)]
        self.first = min(times) if times else None
        self.span = (max(times) - min(times) if times else timedelta(0)) + timedelta(seconds=1)
        self.keep = {seed.session_id}
        self.rng = random.Random(20261202)

    def values(self, copy: int) -> list[str]:
        """The tokens of copy ``copy`` (copy 0 is the seed itself)."""
        if copy == 0:
            return self.tokens
        shift = self.span * copy
        out = []
        for token in self.tokens:
            if token in self.keep:
                out.append(token)
            elif token.startswith('"ordinal":'):
                out.append(f'"ordinal":{int(token[10:]) + copy * self.body_lines}')
            elif re.fullmatch(_TIME, token):
                out.append(_iso(_parse_iso(token) + shift))
            elif re.fullmatch(_UUID, token):
                out.append(str(uuid.UUID(int=self.rng.getrandbits(128), version=4)))
            else:
                out.append(f"{token}x{copy}")
        return out

    def write(self, path: Path, copies: int) -> int:
        """Write the header and ``copies`` copies of the turns; the bytes written."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as out:
            for line in self.header:
                out.write(line + "\n")
            for copy in range(copies):
                values = self.values(copy)
                out.write("".join(t.format(*values) + "\n" for t in self.templates))
        return path.stat().st_size


def events_in(provider: str, path: Path) -> int:
    """Events the importer finds in ``path`` (used to size the scaled file)."""
    from sidecar.importers.registry import importer

    return len(importer(provider).parse(path, None, None).events)


def build(seed: Seed, target_events: int, work: Path, repo: Path, home: Path) -> dict[str, Any]:
    """The scaled transcript of ``seed`` with about ``target_events`` events."""
    scaler = Scaler(seed, fill_placeholders(seed.path.read_text("utf-8"), repo, home))
    path = seed.target(home, repo)
    probe = work / f"probe-{seed.provider}" / seed.path.name
    scaler.write(probe, 1)
    one = events_in(seed.provider, probe)
    scaler.write(probe, 2)
    per_copy = max(1, events_in(seed.provider, probe) - one)
    shutil.rmtree(probe.parent)
    copies = max(1, 1 + math.ceil((target_events - one) / per_copy))
    started = time.perf_counter()
    size = scaler.write(path, copies)
    with path.open("rb") as f:
        lines = sum(1 for _ in f)
    return {
        "path": path,
        "seed": seed.path.relative_to(ROOT),
        "copies": copies,
        "seed_lines": scaler.body_lines + len(scaler.header),
        "lines": lines,
        "bytes": size,
        "build_s": time.perf_counter() - started,
    }


def make_repo(base: Path) -> Path:
    """A git repository with ``main`` and ``feature`` (the branches the sessions name)."""
    repo = base / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.email=bench@example.com", "-c", "user.name=bench",
           "-c", "commit.gpgsign=false", "-C", str(repo)]  # fmt: skip
    for args in (["init", "-q", "-b", "main"], ["commit", "-q", "--allow-empty", "-m", "one"],
                 ["branch", "feature"]):  # fmt: skip
        subprocess.run([*git, *args], check=True, capture_output=True, timeout=60)
    return repo


# --------------------------------------------------------------------------- children


def child_import(provider: str, path: str, db: str) -> None:
    """In a fresh interpreter: the console entry's ``import`` command, timed."""
    started = time.perf_counter()
    from sidecar.cli.entry import main

    sys.argv = ["session-sidecar", "import", provider, path, "--db", db, "--json"]
    captured = io.StringIO()
    code: Any = 0
    with redirect_stdout(captured):
        try:
            main()
        except SystemExit as exit_:
            code = exit_.code
    seconds = time.perf_counter() - started
    if code not in (0, None):
        raise SystemExit(f"import exited {code}: {captured.getvalue()[-500:]}")
    report = json.loads(captured.getvalue())
    print(json.dumps({"seconds": seconds, "events": report["eventsAdded"], "report": report}))


def child_raw(path: str) -> None:
    """In a fresh interpreter: ``json.loads`` of every line of the file, nothing kept."""
    started = time.perf_counter()
    lines = 0
    loads = json.loads
    with open(path, "rb") as f:
        for line in f:
            if line.strip():
                loads(line)
                lines += 1
    print(json.dumps({"seconds": time.perf_counter() - started, "lines": lines}))


def child_profile(provider: str, path: str, db: str, out: str) -> None:
    """One import under cProfile (the stats to ``out``), top functions to stderr."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.runcall(child_import, provider, path, db)
    profiler.dump_stats(out)
    stats = pstats.Stats(out, stream=sys.stderr).sort_stats("cumulative")
    stats.print_stats(40)
    stats.sort_stats("tottime").print_stats(30)


def spawn(argv: list[str], env: dict[str, str], timeout: float) -> dict[str, Any]:
    """Run ``python import_bench.py <argv>``; its JSON, wall time and peak RSS (wait4)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), *argv],
            stdout=out, stderr=err, env=env, cwd=ROOT,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                os.wait4(proc.pid, 0)
                proc.returncode = -9
                raise RuntimeError(f"{argv[0]} timed out after {timeout:.0f} s")
            time.sleep(0.005)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[0]} exited {proc.returncode}: {stderr.strip()[-800:]}")
    if stderr.strip():
        sys.stderr.write(stderr)
    result = json.loads(stdout.strip().splitlines()[-1])
    result["wall_s"] = wall
    result["rss_mb"] = usage.ru_maxrss / 1024  # KiB on Linux
    return result


def remove_db(db: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


# --------------------------------------------------------------------------- measure


def measure(
    provider: str, built: dict[str, Any], runs: int, work: Path, env: dict[str, str]
) -> dict[str, Any]:
    """Import, re-import and raw-read figures of one scaled file."""
    path = str(built["path"])
    timeout = 1800.0
    imports, reimports, raws = [], [], []
    for i in range(runs):
        db = work / f"{provider}-{i}.db"
        remove_db(db)
        # Alternate the anchor and the import so machine load colours both alike.
        raws.append(spawn(["--child-raw", path], env, timeout))
        first = spawn(["--child-import", provider, path, str(db)], env, timeout)
        again = spawn(["--child-import", provider, path, str(db)], env, timeout)
        if again["events"] != 0:
            raise RuntimeError(f"the re-import added {again['events']} events (expected none)")
        if i and first["events"] != imports[0]["events"]:
            raise RuntimeError("two imports of the same file stored different event counts")
        imports.append(first)
        reimports.append(again)
        print(
            f"  [{provider} run {i + 1}/{runs}] import {first['seconds']:.2f} s "
            f"({first['events'] / first['seconds']:,.0f} events/s, "
            f"{first['rss_mb']:.0f} MB), re-import {again['seconds']:.2f} s, "
            f"raw read {raws[-1]['seconds']:.2f} s",
            flush=True,
        )
        remove_db(db)
    events = imports[0]["events"]
    seconds = [r["seconds"] for r in imports]
    raw_s = [r["seconds"] for r in raws]
    return {
        "events": events,
        "lines": built["lines"],
        "mb": built["bytes"] / 2**20,
        "copies": built["copies"],
        "seed": str(built["seed"]),
        "seed_lines": built["seed_lines"],
        "import_s_p50": common.median(seconds),
        "import_s_p95": common.pct(seconds, 95),
        "events_per_s_p50": events / common.median(seconds),
        "events_per_s_p95": events / common.pct(seconds, 95),
        "mb_per_s_p50": built["bytes"] / 2**20 / common.median(seconds),
        "wall_s_p50": common.median([r["wall_s"] for r in imports]),
        "rss_mb": max(r["rss_mb"] for r in imports),
        "raw_s_p50": common.median(raw_s),
        "raw_events_per_s_p50": events / common.median(raw_s),
        "raw_lines_per_s_p50": built["lines"] / common.median(raw_s),
        "raw_rss_mb": max(r["rss_mb"] for r in raws),
        "reimport_s_p50": common.median([r["seconds"] for r in reimports]),
        "reimport_s_p95": common.pct([r["seconds"] for r in reimports], 95),
        "reimport_rss_mb": max(r["rss_mb"] for r in reimports),
        # Without the fixed cost a no-op import pays too (modules, store open, cursor read).
        "marginal_events_per_s": events
        / max(1e-9, common.median(seconds) - common.median([r["seconds"] for r in reimports])),
        "sessions_created": imports[0]["report"]["sessionsCreated"],
        "skipped_malformed": imports[0]["report"]["skippedMalformed"],
    }


def main() -> int:
    """Build the transcripts, measure, print the table, write --json."""
    if len(sys.argv) > 1 and sys.argv[1].startswith("--child-"):
        mode, rest = sys.argv[1], sys.argv[2:]
        {"--child-import": child_import, "--child-raw": child_raw,
         "--child-profile": child_profile}[mode](*rest)  # fmt: skip
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, help="events per transcript (default 200,000)")
    parser.add_argument("--runs", type=int, help="imports per tool (default 5; --quick 3)")
    parser.add_argument("--quick", action="store_true", help="~20,000 events, 3 runs")
    parser.add_argument("--provider", action="append", choices=PROVIDERS, help="default: both")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument("--profile", type=Path, help="also profile one import (pstats file)")
    args = parser.parse_args()
    events = args.events or (20_000 if args.quick else 200_000)
    runs = args.runs or (3 if args.quick else 5)
    providers = args.provider or list(PROVIDERS)

    figures: dict[str, Any] = {"target_events": events, "runs": runs}
    with tempfile.TemporaryDirectory(prefix="sidecar-import-bench-") as temp:
        work = Path(temp)
        repo = make_repo(work)
        home = work / "home"
        home.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SIDECAR_", "GIT_"))}
        env.update(
            PYTHONPATH=str(ROOT),
            HOME=str(home),
            XDG_DATA_HOME=str(home / ".local" / "share"),
            XDG_STATE_HOME=str(home / ".local" / "state"),
            SIDECAR_DB=str(work / "unused.db"),
            CLAUDE_CONFIG_DIR=str(home / ".claude"),
            CODEX_HOME=str(home / ".codex"),
        )
        per: dict[str, dict[str, Any]] = {}
        for provider in providers:
            seed = find_seed(provider)
            built = build(seed, events, work, repo, home)
            print(
                f"[{provider}] {built['seed']} ({built['seed_lines']} lines) x {built['copies']:,}"
                f" -> {built['lines']:,} lines, {built['bytes'] / 2**20:,.0f} MB "
                f"(built in {built['build_s']:.1f} s)",
                flush=True,
            )
            per[provider] = measure(provider, built, runs, work, env)
            if args.profile:
                db = work / f"{provider}-profile.db"
                out = args.profile.with_name(f"{args.profile.stem}-{provider}{args.profile.suffix}")
                spawn(["--child-profile", provider, str(built["path"]), str(db), str(out)], env,
                      3600)  # fmt: skip
                remove_db(db)
                print(f"  [{provider}] profile written to {out}")
            built["path"].unlink()

    rows = []
    for provider, f in per.items():
        rows.append([
            provider, f"{f['events']:,}", f"{f['mb']:,.0f} MB",
            common.fmt(f["events_per_s_p50"]), common.fmt(f["events_per_s_p95"]),
            f"{f['rss_mb']:.0f} MB", common.fmt(f["raw_events_per_s_p50"]),
            f"{f['reimport_s_p50']:.2f} s",
            "ok" if f["events_per_s_p50"] >= BUDGET_EVENTS_PER_S else "UNDER",
        ])  # fmt: skip
        for key, value in f.items():
            figures[f"import_{provider.replace('-', '_')}_{key}"] = value
    print(
        f"\nsession-sidecar import <tool> FILE (fresh database, {runs} runs, in a fresh "
        f"interpreter each; budget >= {BUDGET_EVENTS_PER_S:,.0f} events/s)"
    )
    print(common.text_table(
        ["tool", "events", "file", "events/s p50", "events/s p95", "peak RSS",
         "anchor: raw json.loads events/s", "no-op re-import", "budget"],
        rows,
    ))  # fmt: skip
    if per:
        slowest = min(per, key=lambda p: per[p]["events_per_s_p50"])
        figures["import_events_per_s"] = per[slowest]["events_per_s_p50"]
        figures["import_events_per_s_p95"] = per[slowest]["events_per_s_p95"]
        figures["import_slowest_provider"] = slowest
        figures["import_raw_events_per_s"] = per[slowest]["raw_events_per_s_p50"]
        figures["import_rss_mb"] = max(f["rss_mb"] for f in per.values())
        figures["import_reimport_s"] = max(f["reimport_s_p50"] for f in per.values())
        figures["import_vs_raw_ratio"] = (
            per[slowest]["raw_events_per_s_p50"] / per[slowest]["events_per_s_p50"]
        )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
