"""Benchmark `pms seed` (bulk path): seconds and peak memory per scale and backend, appended to
docs/benchmarks.md with the machine it ran on.

    python -m benchmarks.seed_bench                      # small and large, SQLite and PostgreSQL
    python -m benchmarks.seed_bench --scale small --backend sqlite

Each run is a fresh child process (peak RSS from its own resource.getrusage, so runs do not mask
each other) writing into a fresh SQLite file or a fresh PostgreSQL schema. The load average is
recorded too: on a shared machine it explains more of the variance than the code does.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

from benchmarks.machine import machine
from tests.pg import create_schema  # PMS_TEST_PG_URL's server; a fresh schema each run

SCHEMA = "seed_bench"  # holds the last PostgreSQL seed afterwards: benchmarks.large_bench reads it
ANCHOR = date(2025, 11, 1)  # fixed, so every run writes the same data
REPORT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def one(scale: str, backend: str, seed: int, anchor: date = ANCHOR) -> dict:
    """Run in the child: seed, then report seconds, peak RSS and row counts as JSON."""
    from simulator.run import seed as run_seed

    with tempfile.TemporaryDirectory(prefix="seed-bench-") as tmp:
        url = f"sqlite:///{tmp}/ops.db" if backend == "sqlite" else create_schema(SCHEMA)
        started = time.perf_counter()
        result = run_seed(url, scale, seed, anchor, "bulk")
        seconds = time.perf_counter() - started
        size = os.path.getsize(f"{tmp}/ops.db") if backend == "sqlite" else None
    usage, loader = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"scale": scale, "backend": backend, "seconds": round(seconds, 1),
            "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
            "loader_cpu_seconds": round(loader.ru_utime + loader.ru_stime, 1),
            "peak_rss_mib": round((usage.ru_maxrss + loader.ru_maxrss) / 1024),
            "db_mib": round(size / 2**20) if size else None, "counts": result.counts}


def report(results: list[dict], seed: int, anchor: date = ANCHOR) -> str:
    lines = [f"## `pms seed` (bulk path), {datetime.now():%Y-%m-%d %H:%M}", "",
             f"Machine: {machine('at the end')}. Seed {seed}, history to {anchor}. "
             "`python -m benchmarks.seed_bench`.", "",
             "Seconds are wall time; CPU seconds are the writer process's and its loader process's own "
             "(user + system; PostgreSQL's server work is not in them); peak RSS is the two peaks added.", "",
             "| scale | backend | seconds | CPU seconds (writer + loader) | peak RSS MiB | DB MiB | appointments "
             "| claim lines | outbox events |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        c = r["counts"]
        lines.append(f"| {r['scale']} | {r['backend']} | {r['seconds']:,} | "
                     f"{r['cpu_seconds']:,} + {r['loader_cpu_seconds']:,} | "
                     f"{r['peak_rss_mib']:,} | "
                     f"{r['db_mib'] if r['db_mib'] is not None else '—'} | {c['appointments']:,} | "
                     f"{c['claim_lines']:,} | {c['outbox']:,} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", action="append", choices=["tiny", "demo", "small", "large"])
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgres"])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--anchor", type=date.fromisoformat, default=ANCHOR,
                        help="history ends here (default fixed, so runs compare; the large pipeline bench uses "
                             "yesterday so live activity continues the practice)")
    parser.add_argument("--no-report", action="store_true", help="print only; do not append to docs/benchmarks.md")
    parser.add_argument("--one", nargs=2, metavar=("SCALE", "BACKEND"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(*args.one, args.seed, args.anchor)))
        return
    results = []
    for scale in args.scale or ["small", "large"]:
        for backend in args.backend or ["sqlite", "postgres"]:
            proc = subprocess.run([sys.executable, "-m", "benchmarks.seed_bench", "--one", scale, backend,
                                   "--seed", str(args.seed), "--anchor", str(args.anchor)], capture_output=True, text=True, check=True)
            results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
            print(json.dumps(results[-1]), flush=True)
    section = report(results, args.seed, args.anchor)
    print(section)
    if not args.no_report:
        REPORT.parent.mkdir(parents=True, exist_ok=True)
        existing = REPORT.read_text() if REPORT.exists() else "# Benchmarks\n"
        REPORT.write_text(existing.rstrip("\n") + "\n\n" + section)


if __name__ == "__main__":
    main()
