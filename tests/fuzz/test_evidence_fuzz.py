"""The fast part of the evidence fuzz sweep (tests/fuzz/evidence.py): hostile run folders through every command that
reads a run, hostile bundles through verify. Nothing crashes or hangs, every error is one line, no tampering passes.
The full sweep (every byte of the bundle flipped) is `make bench`; its numbers are in docs/benchmarks.md."""

from __future__ import annotations

from collections import Counter

from tests.fuzz import evidence
from tests.fuzz.harness import run_cases


def test_hostile_runs_and_bundles_end_cleanly_and_no_tampering_passes() -> None:
    cases = list(evidence.fast_cases())
    kinds = Counter(case.name.split("/")[0] for case in cases)
    assert kinds["run"] >= 400 and kinds["bundle"] >= 400, kinds
    report = run_cases(cases, workers=2)
    assert len(report.results) == len(cases)
    assert not report.failures(), report.describe_failures()
    counts = report.counts
    assert counts["refused"] + counts["clean_error"] > counts["accepted"]  # most cases are tampering, and caught
