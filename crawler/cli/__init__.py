"""`naysayer`: the command line. One module per command group, each a thin shell over the module that does the work:

    devices.py      devices
    crawl.py        crawl
    inspect_screen.py inspect
    graph.py        graph
    findings.py     findings, analyze, kinds
    sim.py          sim serve, sim skins (and emulator fake-sdk's work: the simulator is imported there only)
    demo.py         demo
    lab.py          lab run, lab status, lab dashboard, lab export, lab submit, lab worker
    evidence.py     verify, export, keygen, report, report-index
    reproduce.py    reproduce
    emulator.py     emulator list, start, stop, fake-sdk

options.py declares the option sets several commands share (the crawl options once, with the defaults of
crawler.crawl.CrawlOptions); output.py is where results and messages go. A user error (crawler.errors.UserError) is
one line, `naysayer: ...`, exit 2, caught here once.
"""

from __future__ import annotations

import argparse
import logging

from crawler.cli import crawl, demo, devices, emulator, evidence, findings, graph, inspect_screen, lab, reproduce, sim
from crawler.cli.output import console
from crawler.errors import EXIT_USER_ERROR, UserError

COMMAND_GROUPS = (devices, crawl, inspect_screen, graph, findings, sim, demo, lab, evidence, reproduce, emulator)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="naysayer",
        description="Drive Android apps, say no to every permission and consent request, and record what the app "
                    "does next as evidence (MIIT notice 164).",
        epilog="Typical session:\n  naysayer sim serve &            # or plug in a phone\n  naysayer devices\n"
               "  naysayer crawl --device emulator-5554 --app com.example.weather\n"
               "  naysayer findings runs/<run-id>\n  naysayer graph runs/<run-id> --format dot > graph.dot",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--adb-port", type=int, default=None,
                        help="adb server port (default: $ANDROID_ADB_SERVER_PORT or 5037)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens (to stderr)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.fn(args)
    except KeyboardInterrupt:
        console.print("naysayer: interrupted")
        return 130
    except UserError as exc:
        console.print("naysayer: " + " ".join(str(exc).split()), markup=False)  # one line, whatever it quotes
        return EXIT_USER_ERROR


__all__ = ["build_parser", "main"]
