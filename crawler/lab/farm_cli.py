"""`naysayer lab submit` and `naysayer lab worker`: a lab's jobs on a Celery queue (Redis), one worker per device.
Plugged into `naysayer lab` by crawler.lab_cli through crawler.lab.farm.add_commands."""

from __future__ import annotations

from pathlib import Path

from crawler.cli_common import UsageError, console, duration


def _say(line: str) -> None:
    console.print(line, markup=False, highlight=False)


def cmd_lab_submit(args) -> int:
    from crawler.lab.farm import resend, shown_broker, submit
    from crawler.lab_cli import options_from_args

    if args.resend:
        if args.apps:
            raise UsageError("lab submit --resend sends the jobs already in --out DIR: give no APPS")
        done = resend(args.broker, Path(args.out))
        _say(f"lab {done.lab}: {len(done.sent)} queued job(s) sent again to {shown_broker(args.broker)}")
        return 0
    if not args.apps:
        raise UsageError("lab submit needs APPS (or --resend to send a lab's queued jobs again)")
    done = submit(Path(args.apps), args.broker, Path(args.out), options_from_args(args),
                  visibility_timeout=args.visibility_timeout, lease=args.lease)
    for line in done.warnings + done.failed:
        _say(f"naysayer lab: {line}")
    _say(f"lab {done.lab}: {len(done.sent)} app(s) queued on {shown_broker(args.broker)}; start one worker per "
         f"device: naysayer lab worker --device SERIAL --broker {shown_broker(args.broker)} --out {done.lab}")
    return 0


def cmd_lab_worker(args) -> int:
    from crawler.lab.farm import console_say, run_worker

    return run_worker(args.device, args.broker, Path(args.out), adb_port=args.adb_port, say=console_say)


def add_farm_commands(lab_sub) -> None:
    from crawler.lab_cli import add_crawl_options

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
    add_crawl_options(p)
    p.set_defaults(fn=cmd_lab_submit)

    p = lab_sub.add_parser("worker", help="crawl a lab's queued jobs on one device (Celery worker, one job at a "
                                          "time); needs the farm extra")
    p.add_argument("--device", required=True, metavar="SERIAL", help="the device this worker crawls on")
    p.add_argument("--broker", required=True, metavar="URL", help="the Redis broker `lab submit` used")
    p.add_argument("--out", required=True, metavar="DIR", help="the lab folder `lab submit` used (shared)")
    p.set_defaults(fn=cmd_lab_worker)
