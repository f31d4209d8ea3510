"""`naysayer demo`: the whole zoo (or the apps named by --app) on simulated devices, findings scored against its ground truth (crawler.demo)."""

from __future__ import annotations

from pathlib import Path

from crawler.cli.options import duration

DEMO_DEVICES = 4
DEMO_BUDGET = 240.0  # device seconds per app: the zoo's apps show what they do well within it


def cmd_demo(args) -> int:
    from crawler.demo import run_demo

    return run_demo(devices=args.devices, out=Path(args.out), as_json=args.json, budget=args.budget,
                    names=args.app)


def add_commands(sub) -> None:
    p = sub.add_parser("demo", help="crawl the whole zoo on simulated devices and score the findings")
    p.add_argument("--devices", type=int, default=DEMO_DEVICES,
                   help=f"simulated devices in parallel (default {DEMO_DEVICES})")
    p.add_argument("--budget", type=duration, default=DEMO_BUDGET,
                   help=f"device time per app (default {DEMO_BUDGET:g}s)")
    p.add_argument("--app", action="append", metavar="NAME",
                   help="crawl only this zoo app (file stem such as weather_quit, or package); repeat for more")
    p.add_argument("--out", default="runs", help="parent folder for runs/demo-<time>/ (default runs/)")
    p.add_argument("--json", action="store_true", help='print {"apps": [...], "precision", "recall"}')
    p.set_defaults(fn=cmd_demo)
