"""Hostile hierarchy shapes at the 8 MB input limit: parse and perceive time, and peak memory, each in a fresh process.

    .venv/bin/python -m bench.hostile [--size 8388000] [--repeat 3]

Shapes (tests/fuzz/hierarchies.py `shape`): one node with as many attributes as fit, nodes of 60 attributes, wide
(at the children bound), wide over it, deep chains at the depth bound, nesting over it, tiny nodes over the node
bound, one giant text attribute, UTF-32 realistic nodes. "look" is what a crawl step does with a dump: parse,
perceive (no pixels), state key, the widget list. Prints a markdown table; the point is that every row is linear in
the input (a 2.3 MB dump with one node of 200,000 attributes took 469 s before, issue 11).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def measure(index: int, size: int, repeat: int) -> dict:
    from crawler.screen import BadHierarchy, parse_hierarchy
    from tests.fuzz.hierarchies import SMALL_BODY, _doc, look, shape

    name, data = shape(size, index)
    look(_doc(SMALL_BODY))  # warm up: imports, lexicons and matchers load on the first screen
    parse_s, look_s, outcome, nodes = [], [], "", 0
    for _ in range(repeat):
        started = time.perf_counter()
        try:
            nodes = len(parse_hierarchy(data).widgets)
            outcome = "parsed"
        except BadHierarchy as exc:
            outcome = f"refused: {str(exc)[:60]}"
        parse_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        try:
            look(data)
        except BadHierarchy:
            pass
        look_s.append(time.perf_counter() - started)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"name": name, "bytes": len(data), "nodes": nodes, "outcome": outcome, "parse_s": min(parse_s),
            "look_s": min(look_s), "peak_mb": peak_mb}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=8 * 1024 * 1024 - 4096)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(measure(args.one, args.size, args.repeat)))
        return 0
    from tests.fuzz.hierarchies import shape_names

    count = len(shape_names())
    print(f"hostile hierarchies, {args.size} bytes each; {platform.machine()}, Python {platform.python_version()}, "
          f"best of {args.repeat}; peak RSS of a fresh process that built only that input\n")
    print("| shape | bytes | nodes kept | outcome | parse s | look s | MB/s (look) | peak RSS MB |")
    print("|---|---:|---:|---|---:|---:|---:|---:|")
    for index in range(count):
        done = subprocess.run([sys.executable, "-m", "bench.hostile", "--one", str(index), "--size", str(args.size),
                               "--repeat", str(args.repeat)], cwd=REPO, capture_output=True, text=True, check=True)
        row = json.loads(done.stdout)
        rate = row["bytes"] / 1e6 / max(row["look_s"], 1e-9)
        print(f"| {row['name']} | {row['bytes']:,} | {row['nodes']:,} | {row['outcome']} | {row['parse_s']:.2f} | "
              f"{row['look_s']:.2f} | {rate:.0f} | {row['peak_mb']:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
