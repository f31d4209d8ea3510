"""`naysayer devices`: the devices the adb server sees."""

from __future__ import annotations

from crawler.cli.output import console, out, print_json


def cmd_devices(args) -> int:
    from rich.table import Table
    from rich.text import Text

    from crawler.device import adb_client, list_devices

    devices = list_devices(adb_client(args.adb_port))
    if args.json:
        print_json([d.to_json() for d in devices])
        return 0
    if not devices:
        console.print("no devices: start an emulator, plug in a phone, or run `naysayer sim serve`")
        return 0
    table = Table("serial", "state", "model", "android", "sdk", "rom", "locale")
    for d in devices:
        # what a device reports about itself is printed as text, never as markup
        table.add_row(*(Text(str(v)) for v in (d.serial, d.state, d.model, d.android, d.sdk or "", d.rom, d.locale)))
    out.print(table)
    return 0


def add_commands(sub) -> None:
    p = sub.add_parser("devices", help="list devices the adb server sees (serial, state, model, Android, ROM)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(fn=cmd_devices)
