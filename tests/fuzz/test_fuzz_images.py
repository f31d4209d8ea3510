"""The fast screenshot fuzz (the full sweep is `make bench`: bench/fuzz.py): damaged, huge and hostile PNG/JPEG
data, each under a time and a memory bound; none may crash, hang, or print a decoder's warning on stderr."""

from __future__ import annotations

from tests.fuzz import images
from tests.fuzz.harness import run_cases


def test_hostile_screenshots_end_cleanly():
    cases = images.cases()
    assert len(cases) >= 200
    report = run_cases(cases, memory_mb=1024, workers=2)
    assert not report.failures(), report.table() + "\n" + report.describe_failures()
    assert report.counts["clean_error"] > 100 and report.counts["accepted"] > 50, report.table()
