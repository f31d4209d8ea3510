"""`naysayer inspect`: say what is on one screen (crawler.inspection)."""

from __future__ import annotations

from pathlib import Path

from crawler.cli.output import out, print_json
from crawler.errors import UsageError


def cmd_inspect(args) -> int:
    from crawler.inspection import format_inspection, inspect_screen

    if not args.xml and not args.png:
        raise UsageError("inspect needs --xml FILE and/or --png FILE")
    result = inspect_screen(Path(args.xml) if args.xml else None, Path(args.png) if args.png else None,
                            use_ocr=not args.no_ocr)
    if args.json:
        print_json(result)
    else:
        out.print(format_inspection(result), markup=False)
    return 0


def add_commands(sub) -> None:
    p = sub.add_parser("inspect", help="say what is on one screen: scene, permission, actions, text")
    p.add_argument("--xml", metavar="FILE", help="a uiautomator hierarchy dump")
    p.add_argument("--png", metavar="FILE", help="a screenshot (read with OCR where the hierarchy is blind)")
    p.add_argument("--no-ocr", action="store_true", help="hierarchy only")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(fn=cmd_inspect)
