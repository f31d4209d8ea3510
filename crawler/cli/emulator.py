"""`naysayer emulator list|start|stop|fake-sdk`: Android SDK emulators (real ones, or the simulated SDK's)."""

from __future__ import annotations

from crawler.cli import sim
from crawler.cli.options import duration
from crawler.cli.output import console, out, print_json
from crawler.errors import UsageError


def cmd_list(args) -> int:
    from rich.table import Table
    from rich.text import Text

    from emulator.avd import list_avds, running_emulators

    avds = list_avds(via="emulator" if args.via_emulator else "files")
    running: dict[str, list[str]] = {}
    for record in running_emulators():
        running.setdefault(str(record.get("avd")), []).append(str(record.get("serial")))
    rows = [{"name": a.name, "api": a.api_level, "abi": a.abi, "snapshots": a.snapshots(),
             "path": str(a.path or ""), "running": running.get(a.name, [])} for a in avds]
    if args.json:
        print_json(rows)
        return 0
    if not rows:
        console.print("no AVDs: create one with avdmanager, or a simulated SDK with `naysayer emulator fake-sdk DIR`")
        return 0
    table = Table("AVD", "API", "ABI", "snapshots", "running", "path")
    for row in rows:  # names and paths come from files on disk: printed as text, never markup
        table.add_row(*(Text(str(v)) for v in (row["name"], row["api"] or "", row["abi"], ", ".join(row["snapshots"]),
                                               ", ".join(row["running"]), row["path"])))
    out.print(table)
    return 0


def cmd_start(args) -> int:
    from crawler.device import adb_client
    from emulator.avd import LaunchOptions, start_emulators

    if args.n < 1:
        raise UsageError(f"-n {args.n}: start at least one emulator")
    if args.writable and args.n > 1:
        raise UsageError("--writable starts one instance only (several instances of an AVD must be read-only)")
    options = LaunchOptions(snapshot=args.snapshot, cold=args.cold, read_only=not args.writable)
    console.print(f"starting {args.n} emulator(s) of {args.avd}; waiting up to {args.timeout:.0f} s for boot")
    emulators = start_emulators(args.avd, args.n, client=adb_client(args.adb_port), options=options,
                                first_port=args.port, boot_timeout=args.timeout, restarts=args.restarts)
    if args.json:
        print_json([{"serial": e.serial, "avd": e.avd.name, "port": e.port, "adb_port": e.adb_port, "pid": e.pid,
                     "attempts": e.attempts, "log": str(e.log_path)} for e in emulators])
    else:
        for emulator in emulators:
            out.print(emulator.serial, markup=False)
    return 0


def cmd_stop(args) -> int:
    from crawler.device import adb_client
    from emulator.avd import running_emulators, stop_emulator

    client = adb_client(args.adb_port)
    serials = [str(r["serial"]) for r in running_emulators()] if args.serial == "all" else [args.serial]
    if not serials:
        console.print("no emulators started by naysayer are running")
        return 0
    for serial in serials:
        how = stop_emulator(serial, client=client, timeout=args.timeout)
        console.print(f"{serial}: stopped" + (" (console did not answer: process terminated)" if how != "console"
                                              else ""), markup=False)
    return 0




def add_commands(sub) -> None:
    group = sub.add_parser("emulator", help="Android SDK emulators: list AVDs, start headless ones, stop them")
    emu = group.add_subparsers(dest="emulator_command", required=True, metavar="EMUCOMMAND")

    p = emu.add_parser("list", help="the AVDs ($ANDROID_AVD_HOME or ~/.android/avd) and which are running")
    p.add_argument("--via-emulator", action="store_true", help="ask `emulator -list-avds` instead of reading files")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_list)

    p = emu.add_parser("start", help="start headless emulators of an AVD; print their serials once booted")
    p.add_argument("avd", metavar="AVD", help="the AVD name (see `naysayer emulator list`)")
    p.add_argument("-n", type=int, default=1, help="how many instances (default 1)")
    p.add_argument("--port", type=int, default=None, help="first console port, even (default: first free from 5554)")
    p.add_argument("--snapshot", metavar="NAME", help="boot from this snapshot of the AVD")
    p.add_argument("--cold", action="store_true", help="cold boot: never load a snapshot")
    p.add_argument("--writable", action="store_true", help="one instance without -read-only (snapshots can be "
                                                           "saved and loaded)")
    p.add_argument("--timeout", type=duration, default=300.0, help="boot time allowed per attempt (default 300s)")
    p.add_argument("--restarts", type=int, default=2, help="restarts of a wedged emulator (default 2)")
    p.add_argument("--json", action="store_true", help="print serial, port, pid, log of each")
    p.set_defaults(fn=cmd_start)

    p = emu.add_parser("stop", help="stop an emulator through its console (kill), or all that naysayer started")
    p.add_argument("serial", metavar="SERIAL|all")
    p.add_argument("--timeout", type=duration, default=20.0, help="wait this long for it to exit (default 20s)")
    p.set_defaults(fn=cmd_stop)

    p = emu.add_parser("fake-sdk", help="make a simulated Android SDK + AVDs in DIR (the emulator is the simulator)")
    p.add_argument("dir", metavar="DIR")
    p.add_argument("--avd", action="append", metavar="NAME", help="an AVD to create (repeatable; default "
                                                                  "Pixel_6_API_33)")
    p.add_argument("--api", type=int, default=33, help="API level of the AVDs (default 33)")
    p.add_argument("--skin", default="", help="permission-dialog skin (default: aosp-<version> of the API)")
    p.add_argument("--locale", default="zh-CN", choices=["zh-CN", "en-US"])
    p.add_argument("--apps", default="zoo", help="apps on the devices: zoo (default), none, or a comma list of zoo "
                                                 "app files/folders")
    p.add_argument("--boot", type=float, default=2.0, help="seconds a cold boot takes (default 2)")
    p.set_defaults(fn=sim.cmd_fake_sdk)  # it makes simulated devices: the simulator is imported there only
