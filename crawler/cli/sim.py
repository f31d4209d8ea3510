"""`naysayer sim serve` and `naysayer sim skins`: simulated Android devices (emulator.sim)."""

from __future__ import annotations

from pathlib import Path

from crawler.cli.output import console, out, print_json
from crawler.errors import UsageError


def cmd_fake_sdk(args) -> int:
    from emulator.sim.fake_sdk import FakeAvd, make_fake_sdk

    names = args.avd or ["Pixel_6_API_33"]
    avds = [FakeAvd(name, api=args.api, skin=args.skin or "", locale=args.locale, apps=args.apps,
                    boot_seconds=args.boot)
            for name in names]
    sdk, avd_home = make_fake_sdk(Path(args.dir).resolve(), avds)
    console.print(f"simulated SDK with AVD(s) {', '.join(names)}; use it with:")
    out.print(f"export ANDROID_HOME={sdk} ANDROID_AVD_HOME={avd_home}", markup=False)
    return 0


def cmd_sim_skins(args) -> int:
    from rich.table import Table

    from emulator.sim.skins import load_skin, skin_names

    rows = [load_skin(name) for name in skin_names()]
    if args.json:
        print_json([{"name": s.name, "package": s.package, "android": s.android_version, "sdk": s.sdk, "rom": s.rom}
                    for s in rows])
        return 0
    table = Table("skin", "rom", "android", "sdk", "dialog package")
    for s in rows:
        table.add_row(s.name, s.rom, str(s.android_version), str(s.sdk), s.package)
    out.print(table)
    return 0


def cmd_sim_serve(args) -> int:
    from emulator.sim.serve import serve_until_stopped

    if args.devices < 1:
        raise UsageError(f"--devices {args.devices}: need at least one device")
    return serve_until_stopped(devices=args.devices, apps=args.apps, skin=args.skin, locale=args.locale,
                               adb_port=args.adb_port)


def add_commands(sub) -> None:
    sim = sub.add_parser("sim", help="simulated Android devices").add_subparsers(dest="sim_command", required=True,
                                                                                 metavar="SIMCOMMAND")
    p = sim.add_parser("serve", help="start simulated devices with zoo apps; print serials; serve until Ctrl-C")
    p.add_argument("--devices", type=int, default=1, help="how many devices (default 1)")
    p.add_argument("--apps", nargs="*", metavar="DIR_OR_FILE", help="zoo app files or folders (default: the whole zoo)")
    p.add_argument("--skin", default="aosp-13", help="permission dialog skin (see `naysayer sim skins`), or a comma "
                                                     "list cycled over the devices")
    p.add_argument("--locale", default="zh-CN", choices=["zh-CN", "en-US"])
    p.set_defaults(fn=cmd_sim_serve)
    p = sim.add_parser("skins", help="list permission-dialog skins")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_sim_skins)
