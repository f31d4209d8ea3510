"""The full fuzz sweep: every hostile-input family of tests/fuzz, with its full=True case set, under a time and a
memory bound per case (tests/fuzz/harness.py). `make test` runs the fast sets; `make bench` runs this.

    .venv/bin/python -m bench.fuzz [--workers 2] [--memory-mb 1024] [--only hierarchies]

Prints a markdown table per family (counts of each outcome) and the slowest cases; exits 1 when any case crashed,
hung, went over memory, gave a bad error or an unexpected outcome. A family is a `cases(full: bool)` function; add
one to SOURCES.
"""

from __future__ import annotations

import argparse
import importlib
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fuzz.harness import OUTCOMES, run_cases

SOURCES = {
    "hierarchies": "tests.fuzz.hierarchies:cases",
    "images": "tests.fuzz.images:cases",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-mb", type=int, default=1024)
    parser.add_argument("--only", action="append", choices=sorted(SOURCES), help="run only this family (repeatable)")
    args = parser.parse_args()
    print(f"fuzz sweep {time.strftime('%Y-%m-%d')}; {platform.machine()}, Python {platform.python_version()}; "
          f"{args.workers} worker(s), {args.memory_mb} MB address space over the imports, per-case timeouts\n")
    print("| family | cases | " + " | ".join(OUTCOMES) + " | wall s | slowest case s |")
    print("|---|---:|" + "---:|" * (len(OUTCOMES) + 2))
    failed, total = [], 0
    for family, ref in SOURCES.items():
        if args.only and family not in args.only:
            continue
        module, _, function = ref.partition(":")
        cases = getattr(importlib.import_module(module), function)(full=True)
        report = run_cases(cases, memory_mb=args.memory_mb, workers=args.workers)
        counts = report.counts
        slowest = report.slowest(1)
        total += len(report.results)
        print(f"| {family} | {len(report.results)} | " + " | ".join(str(counts.get(o, 0)) for o in OUTCOMES) +
              f" | {report.seconds:.1f} | {slowest[0].seconds:.2f} |" if slowest else "", flush=True)
        failed += report.failures()
        if report.failures():
            print(report.describe_failures(), file=sys.stderr)
    print(f"\n{total} cases, {len(failed)} failure(s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
