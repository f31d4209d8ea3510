"""`naysayer`: the command line. Each subcommand is a thin shell over a module that does the work."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from pathlib import Path

from crawler.cli_common import UsageError, console, duration, out, print_json, settings_from_args

# Exceptions that mean "the input is wrong", by class name: they print one line and exit 2, never a traceback.
# Command modules add their own through a USER_ERRORS set of their own.
USER_ERRORS = {
    "DeviceError", "DeviceLost", "BadHierarchy", "InspectError", "NotARun", "NewerSchema", "BrokenChain",
    "ZooError", "UnknownSkin", "UnknownStrategy", "FontsMissing", "UsageError", "BadImage", "OcrUnavailable",
    "TaxonomyError", "SettingsError", "AdbServerError", "LabError", "SkinError", "AnalyzeError",
    "RunExists", "BadRunId", "UnknownGraphFormat", "MissingBlob", "BadBlob", "DamagedRun",
}
EXIT_USER_ERROR = 2

# Command groups that live beside the work they do: each module has add_commands(sub) and may have USER_ERRORS.
COMMAND_MODULES = (
    "crawler.lab_cli",
    "reports.evidence_cli",
    "reports.report_cli",
    "crawler.reproduce_cli",
    "emulator.cli",
)

_print_json = print_json
_settings = settings_from_args


# -- devices ------------------------------------------------------------------------------------------------------
def cmd_devices(args) -> int:
    from rich.text import Text

    from crawler.device import adb_client, list_devices

    devices = list_devices(adb_client(args.adb_port))
    if args.json:
        _print_json([d.to_json() for d in devices])
        return 0
    if not devices:
        console.print("no devices: start an emulator, plug in a phone, or run `naysayer sim serve`")
        return 0
    from rich.table import Table

    table = Table("serial", "state", "model", "android", "sdk", "rom", "locale")
    for d in devices:
        # what a device reports about itself is printed as text, never as markup
        table.add_row(*(Text(str(v)) for v in (d.serial, d.state, d.model, d.android, d.sdk or "", d.rom, d.locale)))
    out.print(table)
    return 0


# -- crawl --------------------------------------------------------------------------------------------------------
def cmd_crawl(args) -> int:
    from crawler.crawl import crawl_app

    replay_actions = None
    if args.strategy == "replay":
        if not args.replay:
            raise UsageError("--strategy replay needs --replay RUN (the run to replay)")
        from crawler.crawl import recorded_actions

        replay_actions = recorded_actions(Path(args.replay))
    run_dir, reason, detail = crawl_app(
        serial=args.device, package=args.app, apk=Path(args.apk) if args.apk else None, strategy=args.strategy,
        budget=args.budget, steps=args.steps, seed=args.seed, out=Path(args.out), keep_data=args.keep_data,
        idle=args.idle, adb_port=args.adb_port, replay_actions=replay_actions, progress=not args.quiet,
        ocr=not args.no_ocr, thresholds=_settings(args),
    )
    if args.json:
        _print_json({"run": str(run_dir), "end": reason, "detail": detail})
    else:
        console.print(f"crawl ended: {reason}" + (f" ({detail})" if detail else ""))
        out.print(str(run_dir))
    return 0 if reason in ("done", "budget", "steps") else 1


# -- inspect ------------------------------------------------------------------------------------------------------
def cmd_inspect(args) -> int:
    from crawler.inspect import format_inspection, inspect_screen

    if not args.xml and not args.png:
        raise UsageError("inspect needs --xml FILE and/or --png FILE")
    result = inspect_screen(Path(args.xml) if args.xml else None, Path(args.png) if args.png else None,
                            use_ocr=not args.no_ocr)
    if args.json:
        _print_json(result)
    else:
        out.print(format_inspection(result), markup=False)
    return 0


# -- graph --------------------------------------------------------------------------------------------------------
def cmd_graph(args) -> int:
    from crawler.graph import graph_command

    text = graph_command(Path(args.run), args.format)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        console.print(f"wrote {args.output}")
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


# -- findings / analyze / verify ----------------------------------------------------------------------------------
def cmd_findings(args) -> int:
    from crawler.detectors.cli_support import findings_json, findings_table
    from crawler.detectors.finding import Finding
    from crawler.store import DamagedRun, RunStore

    with RunStore.open(Path(args.run)) as store:
        status = store.findings_status()
        stored = store.findings() if status.derived else []
    if not status.derived:  # a killed crawl: never "0 findings"
        console.print(f"naysayer: {args.run}: {status.line().removeprefix('findings: ')}", markup=False)
        return 1
    if status.problems:  # tampered (or unsealed) findings are named before they are shown
        console.print(f"naysayer: {args.run}: {status.line()}", markup=False)
    try:
        findings = [Finding.from_json(f) for f in stored]
    except (TypeError, ValueError, KeyError, AttributeError):
        if status.problems:
            return 1
        raise DamagedRun(f"{args.run}: a stored finding is malformed (damaged or edited); `naysayer verify "
                         f"{args.run}` says more") from None
    if args.json:
        _print_json(findings_json(findings))
    else:
        out.print(findings_table(findings))
    return 1 if status.problems else 0


def cmd_analyze(args) -> int:
    from crawler.detectors.cli_support import analyze_run, findings_json, findings_table

    findings = analyze_run(Path(args.run), settings=_settings(args))
    if args.json:
        _print_json(findings_json(findings))
    else:
        out.print(findings_table(findings))
        console.print(f"{len(findings)} finding(s) stored in {args.run}")
    return 0


def cmd_kinds(args) -> int:
    from rich.table import Table
    from rich.text import Text

    from crawler.detectors.taxonomy import load_taxonomy

    taxonomy = load_taxonomy()
    lang = "zh-CN" if args.lang == "zh" else "en"
    if args.json:
        _print_json([{"kind": k.kind, "family": k.family, "severity": k.severity, "title": k.title,
                      "statement": k.statement,
                      "thresholds": [{"name": t.name, "default": t.default, "unit": t.unit, "source": t.source,
                                      "rule": t.rule} for t in k.thresholds],
                      "basis": [b.to_json() for b in k.basis]} for k in taxonomy.kinds.values()])
        return 0
    table = Table("kind", "severity", "title", "thresholds (OURS = engineering choice, not law)", "basis",
                  show_lines=True)
    for k in taxonomy.kinds.values():
        limits = "\n".join(f"{t.name} = {t.default:g} {t.unit}" + (f" [{t.source}]" if t.source != "law" else "")
                            for t in k.thresholds)
        basis = "\n".join(f"{b.document} {b.item}".strip() for b in k.basis)
        table.add_row(*(Text(cell) for cell in (k.kind, k.severity, k.title.get(lang, ""), limits, basis)))
    out.print(table)
    return 0


# -- sim ----------------------------------------------------------------------------------------------------------
def cmd_sim_skins(args) -> int:
    from emulator.sim.skins import load_skin, skin_names

    rows = [load_skin(name) for name in skin_names()]
    if args.json:
        _print_json([{"name": s.name, "package": s.package, "android": s.android_version, "sdk": s.sdk, "rom": s.rom}
                     for s in rows])
        return 0
    from rich.table import Table

    table = Table("skin", "rom", "android", "sdk", "dialog package")
    for s in rows:
        table.add_row(s.name, s.rom, str(s.android_version), str(s.sdk), s.package)
    out.print(table)
    return 0


def cmd_sim_serve(args) -> int:
    from emulator.sim.cli_serve import serve

    return serve(devices=args.devices, apps=args.apps, skin=args.skin, locale=args.locale, adb_port=args.adb_port)


# -- demo ---------------------------------------------------------------------------------------------------------
def cmd_demo(args) -> int:
    from crawler.demo import run_demo

    return run_demo(devices=args.devices, out=Path(args.out), as_json=args.json, budget=args.budget)


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
    parser.add_argument("--adb-port", type=int, default=None, help="adb server port (default: $ANDROID_ADB_SERVER_PORT or 5037)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens (to stderr)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("devices", help="list devices the adb server sees (serial, state, model, Android, ROM)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(fn=cmd_devices)

    p = sub.add_parser("crawl", help="crawl one app on one device, refusing everything; prints the run directory")
    p.add_argument("--device", required=True, metavar="SERIAL", help="the device serial (see `naysayer devices`)")
    p.add_argument("--app", required=True, metavar="PACKAGE", help="the app's package name")
    p.add_argument("--apk", metavar="FILE", help="install this APK first")
    p.add_argument("--strategy", default="deny", choices=["deny", "bfs", "random", "replay"],
                   help="deny (default): refuse every dialog, explore screen by screen; bfs: never accept consent; "
                        "random: seeded random taps; replay: repeat a recorded run (--replay RUN)")
    p.add_argument("--replay", metavar="RUN", help="the run whose actions --strategy replay repeats")
    p.add_argument("--budget", type=duration, default=300.0, help="device time for exploration (default 300s)")
    p.add_argument("--idle", type=duration, default=900.0,
                   help="device time watched after exploration for self-starts (default 900s; 0 to skip)")
    p.add_argument("--steps", type=int, default=400, help="most actions to take (default 400)")
    p.add_argument("--seed", type=int, default=0, help="seed for the random strategy (default 0)")
    p.add_argument("--out", default="runs", help="where runs are written (default runs/)")
    p.add_argument("--keep-data", action="store_true", help="do not clear the app's data first")
    p.add_argument("--no-ocr", action="store_true", help="never read pixels (faster; blind to drawn dialogs)")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.add_argument("--set", action="append", metavar="KIND.NAME=VALUE",
                   help="override a finding threshold, e.g. --set popup_harassment.max_per_minute=2")
    p.add_argument("--json", action="store_true", help="print {run, end, detail} as JSON")
    p.set_defaults(fn=cmd_crawl)

    p = sub.add_parser("inspect", help="say what is on one screen: scene, permission, actions, text")
    p.add_argument("--xml", metavar="FILE", help="a uiautomator hierarchy dump")
    p.add_argument("--png", metavar="FILE", help="a screenshot (read with OCR where the hierarchy is blind)")
    p.add_argument("--no-ocr", action="store_true", help="hierarchy only")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(fn=cmd_inspect)

    p = sub.add_parser("graph", help="export a run's state-transition graph")
    p.add_argument("run", metavar="RUN")
    p.add_argument("--format", default="json", choices=["graphml", "json", "dot"], help="default json (node-link)")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    p.set_defaults(fn=cmd_graph)

    p = sub.add_parser("findings", help="show a run's findings (as stored by crawl or analyze)")
    p.add_argument("run", metavar="RUN")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.set_defaults(fn=cmd_findings)

    p = sub.add_parser("analyze", help="re-derive a run's findings from its trace with today's detectors")
    p.add_argument("run", metavar="RUN")
    p.add_argument("--set", action="append", metavar="KIND.NAME=VALUE",
                   help="override a threshold, e.g. --set quit_on_refusal.window_s=5 (see `naysayer kinds`)")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.set_defaults(fn=cmd_analyze)

    p = sub.add_parser("kinds", help="the finding kinds: what each means, its thresholds and legal basis")
    p.add_argument("--lang", default="en", choices=["en", "zh"], help="language of the titles (default en)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_kinds)

    sim = sub.add_parser("sim", help="simulated Android devices").add_subparsers(dest="sim_command", required=True,
                                                                                 metavar="SIMCOMMAND")
    p = sim.add_parser("serve", help="start simulated devices with zoo apps; print serials; serve until Ctrl-C")
    p.add_argument("--devices", type=int, default=1, help="how many devices (default 1)")
    p.add_argument("--apps", nargs="*", metavar="DIR_OR_FILE", help="zoo app files or folders (default: the whole zoo)")
    p.add_argument("--skin", default="aosp-13", help="permission dialog skin (see `naysayer sim skins`)")
    p.add_argument("--locale", default="zh-CN", choices=["zh-CN", "en-US"])
    p.set_defaults(fn=cmd_sim_serve)
    p = sim.add_parser("skins", help="list permission-dialog skins")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_sim_skins)

    p = sub.add_parser("demo", help="crawl the whole zoo on simulated devices and score the findings")
    p.add_argument("--devices", type=int, default=4, help="simulated devices in parallel (default 4)")
    p.add_argument("--budget", type=duration, default=240.0, help="device time per app (default 240s)")
    p.add_argument("--out", default="runs", help="parent folder for runs/demo-<time>/ (default runs/)")
    p.add_argument("--json", action="store_true", help='print {"apps": [...], "precision", "recall"}')
    p.set_defaults(fn=cmd_demo)

    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        module.add_commands(sub)
        USER_ERRORS.update(getattr(module, "USER_ERRORS", ()))
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.fn(args)
    except KeyboardInterrupt:
        console.print("naysayer: interrupted")
        return 130
    except Exception as exc:
        if type(exc).__name__ in USER_ERRORS or isinstance(exc, UsageError):
            console.print(f"naysayer: {exc}", markup=False)
            return EXIT_USER_ERROR
        raise


if __name__ == "__main__":
    sys.exit(main())
