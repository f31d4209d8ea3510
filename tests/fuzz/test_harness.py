"""The fuzz harness classifies each kind of ending right: accepted, clean errors, crashes, hangs, memory."""

from __future__ import annotations

from tests.fuzz.harness import FIFO, Case, run_cases

M = "tests.fuzz.selftest_cases:"


def test_each_ending_is_classified() -> None:
    cases = [
        Case("ok", call=M + "returns_nothing"),
        Case("refused", call=M + "returns", args=("refused",)),
        Case("user-error", call=M + "user_error", args=("empty hierarchy",)),
        Case("two-line-error", call=M + "user_error", args=("bad\nsecond line",)),
        Case("bug", call=M + "programming_error"),
        Case("hang", call=M + "sleeps", args=(30,), timeout=1.5),
        Case("after-hang", call=M + "returns_nothing"),
        Case("memory", call=M + "hogs_memory", args=(400,)),
        Case("stderr-fd", call=M + "writes_stderr_fd"),
        Case("stderr-then-error", call=M + "writes_stderr_then_fails"),
        Case("segv", call=M + "segfaults"),
        Case("after-segv", call=M + "returns_nothing"),
        Case("files", call=M + "lists_dir", pass_dir=True, files={"a.xml": b"<x/>", "sub/b": b""}),
        Case("verified-tamper", call=M + "returns_nothing", expect={"clean_error", "refused"}),
        Case("cli-ok", argv=["kinds", "--json"]),
        Case("cli-missing", argv=["inspect", "--xml", "nope.xml", "--no-ocr"]),
        Case("cli-fifo", argv=["inspect", "--xml", "p.xml", "--no-ocr"], files={"p.xml": FIFO}, timeout=20),
        Case("cli-dir", argv=["inspect", "--xml", "{dir}/d", "--no-ocr"], files={"d/x": b""}),
        Case("cli-argparse", argv=["inspect", "--bogus"]),
        Case("cli-quiet", argv=["sim", "skins"], quiet=True),
        Case("cli-leak", argv=["kinds", "--json"], forbid=("popup_harassment",)),
    ]
    report = run_cases(cases, memory_mb=200)
    got = {r.name: r.outcome for r in report.results}
    assert got == {
        "ok": "accepted", "refused": "refused", "user-error": "clean_error", "two-line-error": "bad_error",
        "bug": "crash", "hang": "hang", "after-hang": "accepted", "memory": "over_memory",
        "stderr-fd": "bad_error", "stderr-then-error": "bad_error", "segv": "crash", "after-segv": "accepted",
        "files": "accepted", "verified-tamper": "unexpected", "cli-ok": "accepted", "cli-missing": "clean_error",
        "cli-fifo": "clean_error", "cli-dir": "clean_error", "cli-argparse": "bad_error", "cli-quiet": "accepted",
        "cli-leak": "unexpected",
    }, report.describe_failures()
    assert report.counts["accepted"] == 6
    assert "| 21 |" in report.table()
    bug = next(r for r in report.results if r.name == "bug")
    assert "KeyError" in bug.detail
    missing = next(r for r in report.results if r.name == "cli-missing")
    assert missing.exit == 2 and missing.stderr.startswith("naysayer: ") and "nope.xml" in missing.stderr


def test_cases_are_pulled_lazily_and_spread_over_workers() -> None:
    pulled = []

    def gen():
        for i in range(40):
            pulled.append(i)
            yield Case(f"c{i}", call=M + "returns_nothing")

    seen = []
    report = run_cases(gen(), workers=2, on_result=lambda case, result: seen.append(len(pulled)))
    assert len(report.results) == 40 and report.counts["accepted"] == 40
    assert seen[0] < 40  # the first result came before the generator was drained
