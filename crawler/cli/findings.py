"""`naysayer findings RUN` (as stored), `naysayer analyze RUN` (re-derived with today's detectors, crawler.analyze)
and `naysayer kinds` (the finding taxonomy)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text

from crawler.cli.options import add_set_option, settings_from_args
from crawler.cli.output import console, out, print_json

CELL_LIMIT = 120


def _metrics_text(metrics: dict[str, Any]) -> str:
    parts = []
    for key, value in metrics.items():
        if isinstance(value, (list, tuple)):
            value = ", ".join(str(v) for v in value)
        elif isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items())
        parts.append(f"{key}={value}")
    return " ".join("; ".join(parts).split())[:CELL_LIMIT]


def findings_table(findings: list, language: str = "en") -> Table:
    """A rich table of the findings. App text is shown as plain Text (never parsed as markup) and bounded."""
    table = Table(title=f"{len(findings)} finding(s)", show_lines=False)
    for column in ("t (s)", "kind", "summary", "metrics", "steps", "conf.", "basis"):
        table.add_column(column, overflow="fold")
    for f in findings:
        summary = f.summary_zh if language.startswith("zh") else f.summary
        basis = "; ".join(f"{b['document']} {b['item']}".strip() for b in f.basis[:2])
        steps = ",".join(str(s) for s in f.steps[:8]) + ("…" if len(f.steps) > 8 else "")
        table.add_row(Text(f"{f.offset_s:.1f}"), Text(f.kind), Text(summary[:CELL_LIMIT]),
                      Text(_metrics_text(f.metrics)), Text(steps), Text(f"{f.confidence:.2f}"),
                      Text(basis[:CELL_LIMIT]))
    return table


def cmd_findings(args) -> int:
    from crawler.analyze import findings_json
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
        print_json(findings_json(findings))
    else:
        out.print(findings_table(findings))
    return 1 if status.problems else 0


def cmd_analyze(args) -> int:
    from crawler.analyze import analyze_run, findings_json

    findings = analyze_run(Path(args.run), settings=settings_from_args(args))
    if args.json:
        print_json(findings_json(findings))
    else:
        out.print(findings_table(findings))
        console.print(f"{len(findings)} finding(s) stored in {args.run}")
    return 0


def cmd_kinds(args) -> int:
    from crawler.detectors.taxonomy import load_taxonomy

    taxonomy = load_taxonomy()
    lang = "zh-CN" if args.lang == "zh" else "en"
    if args.json:
        print_json([{"kind": k.kind, "family": k.family, "severity": k.severity, "title": k.title,
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


def add_commands(sub) -> None:
    p = sub.add_parser("findings", help="show a run's findings (as stored by crawl or analyze)")
    p.add_argument("run", metavar="RUN")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.set_defaults(fn=cmd_findings)

    p = sub.add_parser("analyze", help="re-derive a run's findings from its trace with today's detectors")
    p.add_argument("run", metavar="RUN")
    add_set_option(p)
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.set_defaults(fn=cmd_analyze)

    p = sub.add_parser("kinds", help="the finding kinds: what each means, its thresholds and legal basis")
    p.add_argument("--lang", default="en", choices=["en", "zh"], help="language of the titles (default en)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_kinds)
