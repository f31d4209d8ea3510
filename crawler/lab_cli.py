"""`naysayer lab`: many apps on many devices."""

from __future__ import annotations

from pathlib import Path

from crawler.cli_common import UsageError, console, duration, out, print_json, settings_from_args

USER_ERRORS = {"LabError"}


def _packages(items: list[str]) -> list[str]:
    """Package names given directly, or files of them (one per line, # comments)."""
    from crawler.device import check_package

    packages: list[str] = []
    for item in items:
        path = Path(item)
        if path.is_file():
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            packages += [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]
        elif "/" in item or item.endswith(".txt"):
            raise UsageError(f"{item}: no such file of package names")
        else:
            packages.append(item)
    for package in packages:
        check_package(package)
    if not packages:
        raise UsageError("no apps to crawl: give package names or files of them")
    return packages


def cmd_lab(args) -> int:
    from rich.text import Text

    from crawler.device import AndroidDevice, adb_client
    from crawler.lab import found_kinds, run_lab

    packages = _packages(args.apps)
    client = adb_client(args.adb_port)
    for serial in args.device:
        AndroidDevice(serial, client)  # every named device must be there and authorized before the night starts
    out_dir = Path(args.out)
    console.print(f"crawling {len(packages)} app(s) on {len(args.device)} device(s); runs go to {out_dir}")

    def done(result) -> None:
        status = result.end or f"error: {result.error}"
        console.print(f"  {result.package:<40} {result.serial:<18} {status}", markup=False)

    results = run_lab(packages, args.device, out_dir, adb_port=args.adb_port, on_done=done,
                      crawl_options={"budget": args.budget, "idle": args.idle, "ocr": not args.no_ocr,
                                     "thresholds": settings_from_args(args)})
    rows = []
    for result in results:
        rows.append({"package": result.package, "device": result.serial, "run": str(result.run or ""),
                     "end": result.end, "error": result.error, "kinds": found_kinds(result)})
    if args.json:
        print_json(rows)
    else:
        from rich.table import Table

        table = Table("app", "device", "end", "finding kinds", "run")
        for row in rows:
            table.add_row(*(Text(str(v)) for v in (row["package"], row["device"], row["end"] or row["error"],
                                                    ", ".join(row["kinds"]) or "-", row["run"])))
        out.print(table)
    return 0 if all(row["end"] in ("done", "budget", "steps") for row in rows) else 1


def add_commands(sub) -> None:
    p = sub.add_parser("lab", help="crawl many apps on many devices (one worker per device), for overnight runs")
    p.add_argument("--device", action="append", required=True, metavar="SERIAL",
                   help="a device to use; repeat for a farm (each gets a fixed share of the apps)")
    p.add_argument("apps", nargs="+", metavar="APP",
                   help="package names, or files of them (one per line, # comments); apps must be installed")
    p.add_argument("--budget", type=duration, default=300.0, help="device time per app (default 300s)")
    p.add_argument("--idle", type=duration, default=900.0, help="self-start watch per app (default 900s)")
    p.add_argument("--out", default="runs", help="where runs are written (default runs/)")
    p.add_argument("--no-ocr", action="store_true", help="never read pixels")
    p.add_argument("--set", action="append", metavar="KIND.NAME=VALUE", help="override a finding threshold")
    p.add_argument("--json", action="store_true", help="print a JSON list {package, device, run, end, error, kinds}")
    p.set_defaults(fn=cmd_lab)

