"""`naysayer crawl`: one app on one device, refusing everything; prints the run directory."""

from __future__ import annotations

from pathlib import Path

from crawler.cli.options import add_crawl_options, crawl_options_from_args
from crawler.cli.output import console, out, print_json
from crawler.errors import UsageError


def cmd_crawl(args) -> int:
    from crawler.crawl import crawl_app, recorded_actions

    replay_actions = None
    if args.strategy == "replay":
        if not args.replay:
            raise UsageError("--strategy replay needs --replay RUN (the run to replay)")
        replay_actions = recorded_actions(Path(args.replay))
    run_dir, reason, detail = crawl_app(
        crawl_options_from_args(args), serial=args.device, package=args.app, apk=Path(args.apk) if args.apk else None,
        out=Path(args.out), adb_port=args.adb_port, replay_actions=replay_actions, progress=not args.quiet,
    )
    if args.json:
        print_json({"run": str(run_dir), "end": reason, "detail": detail})
    else:
        console.print(f"crawl ended: {reason}" + (f" ({detail})" if detail else ""))
        out.print(str(run_dir))
    return 0 if reason in ("done", "budget", "steps") else 1


def add_commands(sub) -> None:
    p = sub.add_parser("crawl", help="crawl one app on one device, refusing everything; prints the run directory")
    p.add_argument("--device", required=True, metavar="SERIAL", help="the device serial (see `naysayer devices`)")
    p.add_argument("--app", required=True, metavar="PACKAGE", help="the app's package name")
    p.add_argument("--apk", metavar="FILE", help="install this APK first")
    add_crawl_options(p)
    p.add_argument("--replay", metavar="RUN", help="the run whose actions --strategy replay repeats")
    p.add_argument("--out", default="runs", help="where runs are written (default runs/)")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.add_argument("--json", action="store_true", help="print {run, end, detail} as JSON")
    p.set_defaults(fn=cmd_crawl)
