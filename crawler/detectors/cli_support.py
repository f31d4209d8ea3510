"""What the CLI needs from the detectors: analyse a recorded run (after checking its hash chain), show the findings
as a table, and give them as JSON. The only module of the package that does I/O (through crawler.store)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text

from crawler.detectors import detect
from crawler.detectors.finding import Finding
from crawler.detectors.taxonomy import Settings

CELL_LIMIT = 120


class AnalyzeError(Exception):
    """A run that cannot be analysed (not a run, newer schema, broken hash chain): one line, nothing rewritten."""


def analyze_run(run_path: str | Path, settings: Settings | None = None, write: bool = True) -> list[Finding]:
    """Verify the run's hash chain, derive its findings from the trace, and (by default) store them in the run."""
    from crawler import store  # imported here: the detectors themselves never need the store

    path = Path(run_path)
    try:
        run = store.RunStore.open(path)
    except (store.NotARun, store.NewerSchema) as exc:
        raise AnalyzeError(str(exc)) from None
    with run:
        report = run.verify()
        if not report.chain_ok:  # missing screenshots weaken evidence; a broken chain voids it
            raise AnalyzeError(f"{path}: hash chain broken at step {report.first_bad_seq}: {report.reason}; "
                               "findings not written")
        findings = detect(run.trace(), settings)
        if write:
            run.write_findings(findings_json(findings))
    return findings


def findings_json(findings: list[Finding]) -> list[dict[str, Any]]:
    return [f.to_json() for f in findings]


def _metrics_text(metrics: dict[str, Any]) -> str:
    parts = []
    for key, value in metrics.items():
        if isinstance(value, (list, tuple)):
            value = ", ".join(str(v) for v in value)
        elif isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items())
        parts.append(f"{key}={value}")
    return " ".join("; ".join(parts).split())[:CELL_LIMIT]


def findings_table(findings: list[Finding], language: str = "en") -> Table:
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
