"""`naysayer graph RUN`: export a run's state-transition graph (graphml, json, dot)."""

from __future__ import annotations

import sys
from pathlib import Path

from crawler.cli.output import console


def cmd_graph(args) -> int:
    from crawler.graph import graph_command

    text = graph_command(Path(args.run), args.format)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        console.print(f"wrote {args.output}")
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


def add_commands(sub) -> None:
    p = sub.add_parser("graph", help="export a run's state-transition graph")
    p.add_argument("run", metavar="RUN")
    p.add_argument("--format", default="json", choices=["graphml", "json", "dot"], help="default json (node-link)")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    p.set_defaults(fn=cmd_graph)
