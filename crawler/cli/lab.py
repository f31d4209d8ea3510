"""`naysayer lab ...`: many apps on many devices, overnight, resumable (docs/lab.md).

    lab run       crawl a list of apps on a set of devices from this process (crawler.lab.pool)
    lab status    a lab's jobs, counts and findings so far
    lab dashboard the lab night on one page (reports.dashboard)
    lab export    one row per finding (crawler.lab.export)
    lab submit    put a lab's jobs on a Celery queue (Redis), for `lab worker`s (crawler.lab.farm)
    lab worker    crawl queued jobs on one device
"""

from __future__ import annotations

import sys
from pathlib import Path

from crawler.cli.options import LAB_FLAGS, add_crawl_options, crawl_options_from_args, duration
from crawler.cli.output import console, out, print_json
from crawler.errors import UsageError

LAB_STRATEGIES = ("deny", "bfs", "random")  # replay needs a recorded run per app


def _say(line: str) -> None:
    """A one-line notice about one input (a bad entry, a skipped device): the lab goes on."""
    _notice(f"naysayer lab: {line}")


def _notice(line: str) -> None:
    console.print(line, markup=False, highlight=False)


def resolve_devices(text: str, adb_port: int | None) -> list[str]:
    """`a,b,c` or `all` (every device in state `device`). Unknown or unusable serials are one line each and skipped;
    LabError if none is left."""
    import adbutils

    from crawler.device import adb_client
    from crawler.lab import LabError

    try:
        states = {d.serial: d.state for d in adb_client(adb_port).list()}
    except (adbutils.AdbError, OSError) as exc:
        raise LabError(f"cannot reach the adb server: {exc}") from None
    if text.strip() == "all":
        serials = sorted(s for s, state in states.items() if state == "device")
        if not serials:
            raise LabError("--devices all: no device in state 'device' (see `naysayer devices`)")
        return serials
    serials, skipped = [], []
    for serial in dict.fromkeys(s.strip() for s in text.split(",") if s.strip()):
        state = states.get(serial)
        if state is None:
            skipped.append(f"{serial}: no such device (devices: {', '.join(sorted(states)) or 'none'})")
        elif state != "device":
            skipped.append(f"{serial}: device is {state}")
        else:
            serials.append(serial)
    if not serials:
        raise LabError(f"--devices {text}: no usable device" + (f" ({'; '.join(skipped)})" if skipped else ""))
    for line in skipped:
        _say(f"{line}: skipped")
    return serials


def options_from_args(args):
    """How each app is crawled: stored with the lab, so a resume and every worker crawl the same way."""
    from crawler.lab import LabOptions

    return crawl_options_from_args(args, LabOptions)


def cmd_lab_run(args) -> int:
    from crawler.lab import LabError, NotALab
    from crawler.lab.apps import read_apps
    from crawler.lab.display import LabDisplay, PlainReporter, jobs_table, summary_table
    from crawler.lab.index import LabIndex
    from crawler.lab.job import result_from_run
    from crawler.lab.lock import LabLock
    from crawler.lab.pool import DevicePool, QuietObserver

    root = Path(args.out)
    if args.resume and not LabIndex.exists(root):
        raise NotALab(f"{root}: no lab to resume (no lab.sqlite; start one without --resume)")
    if not args.resume and LabIndex.exists(root):
        raise LabError(f"{root}: already holds a lab (continue it with --resume, or choose another --out)")
    apps = read_apps(Path(args.apps))
    serials = resolve_devices(args.devices, args.adb_port)
    with LabLock(root):
        if args.resume:
            index = LabIndex.open(root)
            options = index.options
            for line in index.recover(lambda run: result_from_run(run, options=options)):
                _say(line)
        else:
            index = LabIndex.create(root, options_from_args(args))
        with index:
            added = set(index.add_jobs(apps.jobs))
            for line in apps.warnings:
                _say(line)
            for job in index.jobs("failed"):
                if job.id in added:
                    _say(f"{job.entry}: {job.error}")
            counts = index.counts()
            console.print(f"lab {root}: {counts['queued']} app(s) to crawl on {len(serials)} device(s)"
                          + (f", {counts['done']} done before" if counts["done"] else ""), highlight=False)
            live = sys.stdout.isatty() and console.is_terminal and not args.quiet and not args.json
            observer = LabDisplay(index, serials, console) if live else (
                QuietObserver() if args.quiet else PlainReporter(console))
            dashboard = _dashboard(root, args)
            if dashboard is not None:
                observer = dashboard.watching(observer)
            pool = DevicePool(index, serials, adb_port=args.adb_port, observer=observer)
            try:
                if live:
                    with observer:
                        summary = pool.run()
                else:
                    summary = pool.run()
            except KeyboardInterrupt:
                if dashboard is not None:
                    dashboard.close()
                counts = index.counts()
                console.print(f"naysayer lab: stopped; {counts['done']} done, {counts['queued']} left: continue with "
                              f"`naysayer lab run {args.apps} --devices {args.devices} --out {root} --resume`",
                              markup=False, highlight=False)
                return 130
            if dashboard is not None:
                dashboard.close()
                if not args.json and not args.quiet:
                    console.print(f"dashboard: {dashboard.out_dir / 'index.html'}", markup=False, highlight=False)
            if args.json:
                print_json(index.status())
            else:
                out.print(jobs_table(index.jobs()))
                out.print(summary_table(summary.counts, index.findings()))
            if summary.counts["queued"]:
                _say(f"{summary.counts['queued']} app(s) not crawled: no device left "
                     f"({', '.join(summary.gone) or 'none'} gone); continue later with --resume")
            return 0 if summary.counts["done"] == sum(summary.counts.values()) else 1


def _dashboard(root: Path, args):
    """The dashboard `lab run` keeps current (DIR/dashboard/ unless --dashboard says where; none with
    --no-dashboard)."""
    if args.no_dashboard:
        return None
    from reports.dashboard import DashboardRefresher

    return DashboardRefresher(root, Path(args.dashboard) if args.dashboard else root / "dashboard",
                              args.lang).start()


def cmd_lab_dashboard(args) -> int:
    from reports.dashboard import write_dashboard

    page = write_dashboard(Path(args.dir), Path(args.output), args.lang, reports=not args.no_reports)
    console.print(f"dashboard: {page}", markup=False, highlight=False)
    return 0


def cmd_lab_export(args) -> int:
    from crawler.lab.export import export_lab

    n = export_lab(Path(args.dir), args.format, Path(args.output) if args.output else None, stdout=sys.stdout)
    if args.output:
        console.print(f"{n} finding(s) written to {args.output}", markup=False, highlight=False)
    return 0


def cmd_lab_status(args) -> int:
    from crawler.lab.display import jobs_table, summary_table
    from crawler.lab.index import LabIndex
    from crawler.lab.lock import lab_is_running

    root = Path(args.dir)
    with LabIndex.open(root) as index:
        status, jobs, on_farm = index.status(), index.jobs(), index.on_farm
    status["active"] = lab_is_running(root)
    if args.json:
        print_json(status)
        return 0
    out.print(jobs_table(jobs))
    out.print(summary_table(status["counts"], status["findings"]))
    if status["counts"]["running"] and not status["active"]:
        how = (f"`naysayer lab submit --resend --broker URL --out {root}` and one `lab worker` per device continue it"
               if on_farm else f"`naysayer lab run ... --out {root} --resume` continues it")
        console.print(f"no lab process or worker is running in {root}: {how}", markup=False, highlight=False)
    return 0


def cmd_lab_submit(args) -> int:
    from crawler.lab.farm import resend, shown_broker, submit

    if args.resend:
        if args.apps:
            raise UsageError("lab submit --resend sends the jobs already in --out DIR: give no APPS")
        done = resend(args.broker, Path(args.out))
        _notice(f"lab {done.lab}: {len(done.sent)} queued job(s) sent again to {shown_broker(args.broker)}")
        return 0
    if not args.apps:
        raise UsageError("lab submit needs APPS (or --resend to send a lab's queued jobs again)")
    done = submit(Path(args.apps), args.broker, Path(args.out), options_from_args(args),
                  visibility_timeout=args.visibility_timeout, lease=args.lease)
    for line in done.warnings + done.failed:
        _say(line)
    _notice(f"lab {done.lab}: {len(done.sent)} app(s) queued on {shown_broker(args.broker)}; start one worker per "
            f"device: naysayer lab worker --device SERIAL --broker {shown_broker(args.broker)} --out {done.lab}")
    return 0


def cmd_lab_worker(args) -> int:
    from crawler.lab.farm import console_say, run_worker

    return run_worker(args.device, args.broker, Path(args.out), adb_port=args.adb_port, say=console_say)


def add_commands(sub) -> None:
    lab = sub.add_parser("lab", help="crawl many apps on many devices, overnight, resumable (docs/lab.md)")
    lab_sub = lab.add_subparsers(dest="lab_command", required=True, metavar="LABCOMMAND")

    p = lab_sub.add_parser("run", help="crawl a list of apps on a set of devices; the queue lives in DIR/lab.sqlite")
    p.add_argument("apps", metavar="APPS",
                   help="a file of package names and/or APK paths (one a line, # comments), or a folder of *.apk")
    p.add_argument("--devices", required=True, metavar="SERIALS|all",
                   help="comma-separated serials, or `all` (every device in state 'device')")
    p.add_argument("--out", required=True, metavar="DIR", help="the lab folder: lab.sqlite and one run per app")
    p.add_argument("--resume", action="store_true",
                   help="continue the lab in DIR after a crash or Ctrl-C (its crawl options are kept)")
    add_crawl_options(p, LAB_FLAGS, strategies=LAB_STRATEGIES)
    p.add_argument("--quiet", action="store_true", help="no live display, no per-app lines")
    p.add_argument("--json", action="store_true", help="print the final status as JSON (as `lab status --json`)")
    p.add_argument("--dashboard", metavar="DIR", help="where the live dashboard is written (default DIR/dashboard)")
    p.add_argument("--no-dashboard", action="store_true", help="write no dashboard")
    p.add_argument("--lang", default="zh-CN", choices=["zh-CN", "en"], help="dashboard language (default zh-CN)")
    p.set_defaults(fn=cmd_lab_run)

    p = lab_sub.add_parser("dashboard", help="the lab night on one page: progress, findings, devices, failures")
    p.add_argument("dir", metavar="LAB", help="the lab folder (--out of `lab run` or `lab submit`)")
    p.add_argument("-o", "--output", required=True, metavar="DIR",
                   help="folder for index.html and each app's report (runs/)")
    p.add_argument("--lang", default="zh-CN", choices=["zh-CN", "en"], help="default zh-CN")
    p.add_argument("--no-reports", action="store_true", help="the dashboard only, without the run reports")
    p.set_defaults(fn=cmd_lab_dashboard)

    p = lab_sub.add_parser("export", help="one row per finding (app, version, kind, severity, time, run, basis)")
    p.add_argument("dir", metavar="LAB", help="the lab folder")
    p.add_argument("--format", required=True, choices=["csv", "jsonl"])
    p.add_argument("-o", "--output", metavar="FILE", help="write here (default: standard output)")
    p.set_defaults(fn=cmd_lab_export)

    p = lab_sub.add_parser("status", help="a lab's jobs, counts and findings so far (also while it runs)")
    p.add_argument("dir", metavar="DIR", help="the lab folder (--out of `lab run`)")
    p.add_argument("--json", action="store_true",
                   help='print {"jobs": [{package, state, device, run, attempts, error, ...}], "counts", "findings"}')
    p.set_defaults(fn=cmd_lab_status)

    p = lab_sub.add_parser("submit", help="put a lab's jobs on a Celery queue (Redis) for `lab worker`s to crawl; "
                                          "needs the farm extra")
    p.add_argument("apps", metavar="APPS", nargs="?",
                   help="a file of package names and/or APK paths (one a line, # comments), or a folder of *.apk")
    p.add_argument("--broker", required=True, metavar="URL", help="the Redis broker, redis://HOST:PORT/DB")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="the lab folder (shared by every worker): lab.sqlite and one run per app")
    p.add_argument("--resend", action="store_true",
                   help="send every job still queued in DIR again (after a broker lost mid-submit)")
    p.add_argument("--visibility-timeout", type=duration, default=None, metavar="DURATION",
                   help="how long a dead worker's job waits before another worker takes it "
                        "(default: budget + idle + 10m)")
    p.add_argument("--lease", type=duration, default=None, metavar="DURATION",
                   help="a crawling worker silent this long is taken as dead (default 60s)")
    add_crawl_options(p, LAB_FLAGS, strategies=LAB_STRATEGIES)
    p.set_defaults(fn=cmd_lab_submit)

    p = lab_sub.add_parser("worker", help="crawl a lab's queued jobs on one device (Celery worker, one job at a "
                                          "time); needs the farm extra")
    p.add_argument("--device", required=True, metavar="SERIAL", help="the device this worker crawls on")
    p.add_argument("--broker", required=True, metavar="URL", help="the Redis broker `lab submit` used")
    p.add_argument("--out", required=True, metavar="DIR", help="the lab folder `lab submit` used (shared)")
    p.set_defaults(fn=cmd_lab_worker)
