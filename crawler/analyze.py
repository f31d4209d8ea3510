"""`naysayer analyze RUN`: re-derive a recorded run's findings with today's detectors, after checking its hash
chain, and store them in the run. The detectors themselves (crawler.detectors) are pure and do no I/O."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crawler.detectors import detect
from crawler.detectors.finding import Finding
from crawler.detectors.taxonomy import Settings
from crawler.errors import UserError


class AnalyzeError(UserError):
    """A run that cannot be analysed (not a run, newer schema, broken hash chain): one line, nothing rewritten."""


def analyze_run(run_path: str | Path, settings: Settings | None = None, write: bool = True) -> list[Finding]:
    """Verify the run's hash chain, derive its findings from the trace, and (by default) store them in the run."""
    from crawler import store
    from crawler.crawl import derive_findings

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
        return derive_findings(run, settings) if write else detect(run.trace(), settings)


def findings_json(findings: list[Finding]) -> list[dict[str, Any]]:
    return [f.to_json() for f in findings]
