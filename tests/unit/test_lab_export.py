"""`naysayer lab export`: one row per finding of a lab, as CSV (safe to open in a spreadsheet) or JSON Lines."""

from __future__ import annotations

import csv
import io
import json

import pytest

from crawler.cli import main
from crawler.lab.export import export_lab
from crawler.store import RunStore
from tests.unit.test_dashboard import make_lab

FORMULA = "=HYPERLINK(\"http://evil\",\"x\")"


def findings_in(run) -> list[dict]:
    with RunStore.open(run) as store:
        return store.findings()


def test_jsonl_has_one_row_per_finding_with_app_version_kind_severity_time_run_and_basis(tmp_path):
    lab = make_lab(tmp_path / "lab")
    out = tmp_path / "findings.jsonl"
    n = export_lab(lab, "jsonl", out)
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    expected = findings_in(lab / "run-bad") + findings_in(lab / "run-clean")
    assert n == len(rows) == len(expected) == 2
    assert {r["finding"] for r in rows} == {f["id"] for f in expected}
    row = next(r for r in rows if r["kind"] == "quit_on_refusal")
    assert row["package"] == "com.example.hostile" and row["version"] == "1.0" and row["severity"] == "high"
    assert row["run"] == "run-bad" and row["time"].endswith("Z") and row["job_state"] == "done"
    assert row["basis"] and row["basis"][0]["document"].startswith("工信部")


def test_csv_cells_that_a_spreadsheet_would_run_are_defused(tmp_path):
    lab = make_lab(tmp_path / "lab")
    with RunStore.open(lab / "run-bad") as store:
        findings = store.findings()
        for f in findings:
            f["summary"] = FORMULA
            f["id"] = "+" + f["id"]
        store.write_findings(findings)
    out = tmp_path / "findings.csv"
    assert export_lab(lab, "csv", out) == 2
    text = out.read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["summary"] for r in rows] == ["'" + FORMULA] * 2
    assert all(r["finding"].startswith("'+") for r in rows)
    assert all(r["app"] == "<img src=x onerror=alert(1)>" for r in rows)  # text, as recorded
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r.values())


def test_cli_writes_to_stdout_or_a_file_and_refuses_bad_inputs(tmp_path, capsys):
    lab = make_lab(tmp_path / "lab")
    assert main(["lab", "export", str(lab), "--format", "csv"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("package,app,version") and len(lines) == 3
    assert main(["lab", "export", str(tmp_path / "nolab"), "--format", "jsonl"]) == 2
    assert main(["lab", "export", str(lab), "--format", "jsonl", "-o", str(lab / "run-bad" / "f.jsonl")]) == 2
    assert main(["lab", "export", str(lab), "--format", "jsonl", "-o", str(tmp_path / "no" / "f.jsonl")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("naysayer: ") for line in err)
    assert not (lab / "run-bad" / "f.jsonl").exists()


def test_an_unknown_format_is_refused():
    from crawler.lab.export import LabExportError

    with pytest.raises(LabExportError):
        export_lab(".", "xlsx")
