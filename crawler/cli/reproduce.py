"""`naysayer reproduce RUN FINDING_ID --device SERIAL [--runs N]`: replay the way to a finding and judge again.

Prints one line per attempt on stderr, the new run directories and the verdict on stdout: `reproduced 3/3 (100%)`
or `not reproduced 0/3`. Exit 0 when the finding was reproduced at least once, 1 when it never was, 2 for bad
input (one line: no such run, a run without findings, an unknown finding id, no such device...).
"""

from __future__ import annotations

from pathlib import Path

from crawler.cli.options import JUDGE_FLAGS, add_crawl_options, crawl_options_from_args
from crawler.cli.output import console, out, print_json
from crawler.errors import UsageError


def cmd_reproduce(args) -> int:
    from crawler.reproduce import reproduce
    from crawler.text_safety import export_text

    if args.runs < 1:
        raise UsageError(f"--runs {args.runs}: need at least one run")

    def show(attempt) -> None:
        verdict = f"reproduced as {attempt.finding}" if attempt.reproduced else "not reproduced"
        notes = []
        if attempt.by_bounds:
            notes.append(f"matched by position: steps {', '.join(map(str, attempt.by_bounds))}")
        if not attempt.reproduced and attempt.detail:
            notes.append(export_text(attempt.detail))  # may quote a widget label: app text, bounded and cleaned
        console.print(f"run {attempt.attempt}/{args.runs}: {verdict}" + (f" ({'; '.join(notes)})" if notes else ""),
                      markup=False)

    report = reproduce(Path(args.run), args.finding, serial=args.device, runs=args.runs,
                       out=Path(args.out) if args.out else None, adb_port=args.adb_port,
                       options=crawl_options_from_args(args), on_attempt=None if args.json else show)
    if args.json:
        print_json(report.to_json())
    else:
        for attempt in report.attempts:
            out.print(str(attempt.run), markup=False)
        out.print(report.verdict(), markup=False)
    return 0 if report.reproduced else 1


def add_commands(sub) -> None:
    p = sub.add_parser("reproduce", help="replay the shortest way to a finding on a fresh app state; "
                                         "prints reproduced K/N or not reproduced")
    p.add_argument("run", metavar="RUN", help="the run that holds the finding")
    p.add_argument("finding", metavar="FINDING_ID", help="the finding's id (see `naysayer findings RUN`)")
    p.add_argument("--device", required=True, metavar="SERIAL", help="the device to replay on")
    p.add_argument("--runs", type=int, default=1, help="attempts, each a new run from a cold start (default 1)")
    p.add_argument("--out", metavar="DIR", help="where the new runs go (default: beside the original run)")
    add_crawl_options(p, JUDGE_FLAGS)
    p.add_argument("--json", action="store_true", help="print the plan, every attempt and the verdict as JSON")
    p.set_defaults(fn=cmd_reproduce)
