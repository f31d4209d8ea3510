"""`naysayer verify`: check a run's hash chain and blobs."""

from __future__ import annotations

from pathlib import Path

from crawler.cli_common import out, print_json


def cmd_verify(args) -> int:
    from crawler.store import RunStore

    with RunStore.open(Path(args.run)) as store:
        report = store.verify()
    if args.json:
        print_json({"ok": report.ok, "chain_ok": report.chain_ok, "steps": report.steps,
                    "first_bad_seq": report.first_bad_seq, "reason": report.reason,
                    "blob_problems": report.blob_problems})
        return 0 if report.ok else 1
    if not report.chain_ok:
        out.print(f"{args.run}: hash chain broken at step {report.first_bad_seq}: {report.reason}", markup=False)
    else:
        out.print(f"{args.run}: hash chain intact ({report.steps} steps)", markup=False)
    for problem in report.blob_problems[:20]:
        out.print(f"  {problem}", markup=False)
    if len(report.blob_problems) > 20:
        out.print(f"  ... and {len(report.blob_problems) - 20} more blob problems", markup=False)
    return 0 if report.ok else 1


def add_commands(sub) -> None:
    p = sub.add_parser("verify", help="check a run's hash chain and blobs")
    p.add_argument("run", metavar="RUN")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_verify)
