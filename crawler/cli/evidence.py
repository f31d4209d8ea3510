"""The evidence commands (reports/): `naysayer report RUN` (one run's HTML report), `naysayer report-index` (many
runs), `naysayer export` (pack a run into a (signed) bundle), `naysayer keygen` (a signing key), `naysayer verify`
(check a run or a bundle). Exit 0 ok, 1 verification failed, 2 bad input (one line)."""

from __future__ import annotations

from pathlib import Path

from crawler.cli.output import console, out, print_json
from crawler.errors import UsageError

LANGUAGES = ("zh-CN", "en")
PROBLEMS_PRINTED = 20  # of a run's blob problems (a bundle's are all printed: each names what failed)


def _is_bundle(path: Path) -> bool:
    """A bundle is a file (a zip); a run is a directory or its trace.sqlite."""
    if path.is_dir() or path.name == "trace.sqlite":
        return False
    return path.is_file() or path.suffix.lower() == ".zip"


# -- verify -------------------------------------------------------------------------------------------------------
def cmd_verify(args) -> int:
    path = Path(args.run)
    if _is_bundle(path):
        return _verify_bundle(path, args)
    if args.pub:
        raise UsageError(f"{args.run}: --pub checks a bundle's signature; a run directory is not signed")
    return _verify_run(args)


def _verify_run(args) -> int:
    from crawler.store import RunStore

    with RunStore.open(Path(args.run)) as store:
        report = store.verify()
    findings = report.findings
    if args.json:
        print_json({"ok": report.ok, "chain_ok": report.chain_ok, "steps": report.steps,
                    "first_bad_seq": report.first_bad_seq, "reason": report.reason,
                    "blob_problems": report.blob_problems,
                    "findings": {"state": findings.state, "count": findings.count, "detectors": findings.detectors,
                                 "head_seq": findings.head_seq, "problems": findings.problems}})
        return 0 if report.ok else 1
    if not report.chain_ok:
        out.print(f"{args.run}: hash chain broken at step {report.first_bad_seq}: {report.reason}", markup=False)
    else:
        out.print(f"{args.run}: hash chain intact ({report.steps} steps)", markup=False)
    for problem in report.blob_problems[:PROBLEMS_PRINTED]:
        out.print(f"  {problem}", markup=False)
    if len(report.blob_problems) > PROBLEMS_PRINTED:
        out.print(f"  ... and {len(report.blob_problems) - PROBLEMS_PRINTED} more blob problems", markup=False)
    if report.chain_ok:
        out.print(f"{args.run}: {findings.line().replace('RUN', str(args.run))}" if not findings.problems else
                  f"{args.run}: findings FAILED ({len(findings.problems)} problem"
                  f"{'s' if len(findings.problems) != 1 else ''})", markup=False)
        for problem in findings.problems[:PROBLEMS_PRINTED]:
            out.print(f"  {problem}", markup=False)
    return 0 if report.ok else 1


def _verify_bundle(path: Path, args) -> int:
    from reports.bundle_verify import verify_bundle
    from reports.signing import short

    report = verify_bundle(path, Path(args.pub) if args.pub else None)
    if args.json:
        print_json(report.to_json())
        return 0 if report.ok else 1
    scope = "whole trace" if report.whole_trace else f"trace slice ({report.steps} steps)"
    signature = {"verified": f"signed by key {short(report.key)} (checked with --pub)",
                 "matches-own-key": f"signed by key {short(report.key)} (not checked against a key you trust: "
                                    "pass --pub KEY.pub)",
                 "unsigned": "not signed", "bad": "signature FAILED"}[report.signature]
    if report.ok:
        out.print(f"{path}: verified: {report.members} members, {scope}, chain head step {report.head_seq} "
                  f"{report.head[:12]}…, {signature}", markup=False)
        return 0
    count = len(report.problems) + report.more_problems
    out.print(f"{path}: verification FAILED ({count} problem{'s' if count != 1 else ''})", markup=False)
    for problem in report.problems:
        out.print(f"  {problem}", markup=False)
    if report.more_problems:
        out.print(f"  ... and {report.more_problems} more problems", markup=False)
    return 1


# -- export / keygen ----------------------------------------------------------------------------------------------
def cmd_export(args) -> int:
    from reports.bundle import export_bundle
    from reports.signing import short

    result = export_bundle(Path(args.run), Path(args.output), finding_id=args.finding,
                           sign_key=Path(args.sign_key) if args.sign_key else None, lang=args.lang)
    if args.json:
        print_json(result.to_json())
        return 0
    what = "whole trace" if result.whole_trace else f"finding {result.findings[0]}, {result.steps} steps"
    signed = f"signed by key {short(result.fingerprint)}" if result.fingerprint else "not signed"
    console.print(f"bundle: {result.members} members, {result.size} bytes, {what}, chain head step "
                  f"{result.head_seq}, {signed}" + ("" if result.report else ", no HTML report"), markup=False)
    out.print(str(result.path), markup=False)
    return 0


def cmd_keygen(args) -> int:
    from reports.signing import generate_keypair

    pair = generate_keypair(Path(args.output))
    if args.json:
        print_json({"private_key": str(pair.private_path), "public_key": str(pair.public_path),
                    "fingerprint": pair.fingerprint})
        return 0
    console.print(f"private key {pair.private_path} (mode 0600: keep it secret), public key {pair.public_path}, "
                  f"fingerprint {pair.fingerprint}", markup=False)
    out.print(str(pair.public_path), markup=False)
    return 0


# -- report / report-index -------------------------------------------------------------------------------------
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

    p = sub.add_parser("verify", help="check a run's hash chain and blobs, or an evidence bundle (.zip)")
    p.add_argument("run", metavar="RUN_OR_BUNDLE", help="a run directory, or a bundle made by `naysayer export`")
    p.add_argument("--pub", metavar="KEY.pub", help="bundles: the signer's public key (from `naysayer keygen`)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(fn=cmd_verify)

    p = sub.add_parser("export", help="pack a run's findings and evidence into a zip bundle (optionally signed)")
    p.add_argument("run", metavar="RUN")
    p.add_argument("-o", "--output", required=True, metavar="FILE.zip", help="the bundle to write")
    p.add_argument("--finding", metavar="ID", help="only this finding and the steps that show it "
                                                    "(ids: `naysayer findings RUN`)")
    p.add_argument("--sign-key", metavar="KEY", help="sign with this Ed25519 private key (`naysayer keygen`)")
    p.add_argument("--lang", default="zh-CN", choices=LANGUAGES, help="language of report.html (default zh-CN)")
    p.add_argument("--json", action="store_true", help="print what was written as JSON")
    p.set_defaults(fn=cmd_export)

    p = sub.add_parser("keygen", help="make an Ed25519 key pair for signing bundles: PATH (0600) and PATH.pub")
    p.add_argument("-o", "--output", required=True, metavar="PATH", help="the private key file to create")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_keygen)
