"""The fast hierarchy fuzz (the full sweep is `make bench`: bench/fuzz.py): hundreds of hostile dumps, each under a
time and a memory bound; none may crash, hang, leak the bait file, or give an error of more than one line."""

from __future__ import annotations

from tests.fuzz import hierarchies
from tests.fuzz.harness import run_cases


def test_hostile_hierarchies_end_cleanly(tmp_path):
    cases = hierarchies.cases(hierarchies.make_bait(tmp_path / "bait"))
    assert len(cases) >= 500
    report = run_cases(cases, memory_mb=1024, workers=2)
    assert not report.failures(), report.table() + "\n" + report.describe_failures()
    assert report.counts["clean_error"] > 300 and report.counts["accepted"] > 30, report.table()
