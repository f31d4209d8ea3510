"""`naysayer report RUN` (one run's HTML report) and `naysayer report-index RUN_OR_DIR... -o FILE` (many runs)."""

from __future__ import annotations

from pathlib import Path

from crawler.cli_common import console, out

USER_ERRORS = {"ReportError", "UnknownLanguage", "BadApk"}
LANGUAGES = ("zh-CN", "en")


def cmd_report(args) -> int:
    from reports.html import write_run_report
    from reports.run_paths import run_directory

    # by default beside where the user is, never inside the run: a run directory is evidence and stays as recorded
    target = Path(args.output) if args.output else Path(f"{run_directory(Path(args.run)).name}.html")
    write_run_report(Path(args.run), target, lang=args.lang, apk=Path(args.apk) if args.apk else None)
    console.print(f"wrote {target}", markup=False)
    out.print(str(target), markup=False, soft_wrap=True)
    return 0


def cmd_report_index(args) -> int:
    from reports.html import write_index

    target = write_index([Path(p) for p in args.runs], Path(args.output), lang=args.lang,
                         with_reports=args.with_reports)
    console.print(f"wrote {target}", markup=False)
    out.print(str(target), markup=False, soft_wrap=True)
    return 0


def add_commands(sub) -> None:
    p = sub.add_parser("report", help="write one run's HTML report (self-contained, works offline)")
    p.add_argument("run", metavar="RUN", help="the run directory")
    p.add_argument("-o", "--output", metavar="FILE", help="where to write it (default ./<run-id>.html)")
    p.add_argument("--lang", default="zh-CN", choices=LANGUAGES, help="language of the page (default zh-CN)")
    p.add_argument("--apk", metavar="FILE", help="the run's APK (same sha256 as recorded), to show its signing "
                                                 "certificate")
    p.set_defaults(fn=cmd_report)

    p = sub.add_parser("report-index", help="write an HTML index of many runs (a lab night)")
    p.add_argument("runs", nargs="+", metavar="RUN_OR_DIR", help="run directories, or folders of runs")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="where to write the index")
    p.add_argument("--lang", default="zh-CN", choices=LANGUAGES, help="language of the pages (default zh-CN)")
    p.add_argument("--with-reports", action="store_true",
                   help="also write each run's report into FILE's folder (<name>-runs/) and link them")
    p.set_defaults(fn=cmd_report_index)
