"""The lab dashboard (no device, no browser): what a lab lead reads in the morning, from a real lab index and real run
stores. Counts, ranking, the charts' bars and timeline boxes, links to reports that exist, failures with their
errors, hostile text as text, the one script allowed by its hash, deterministic pages, and the CLI's one-line errors.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from pathlib import Path

import lxml.html
import pytest

from crawler.cli import main
from crawler.lab.index import LabIndex
from crawler.lab.job import JobResult, JobSpec
from crawler.lab.options import LabOptions
from crawler.store import RunStore
from reports.dashboard import render_dashboard, write_dashboard
from reports.dashboard.data import gather_lab
from tests.unit.report_runs import HOSTILE_LABEL, make_run

HOSTILE_ERROR = "<img src=x onerror=alert(1)> crashed"
HOSTILE_SERIAL = "dev-$x$-<b>"
APK_SHA = "5e" * 32


def make_lab(root: Path) -> Path:
    """Five apps on two devices: one done with findings (high and medium), one done clean, one failed, one that lost
    its device once and is running again, one queued."""
    with LabIndex.create(root, LabOptions(max_failures=1)) as index:
        index.add_jobs([JobSpec(p) for p in ("com.example.hostile", "com.example.clean", "com.example.broken",
                                             "com.example.lost", "com.example.later")])
        job = index.claim("dev-a")
        run = make_run(root, label=HOSTILE_LABEL, run_id="run-bad", apk_sha256=APK_SHA)
        index.begin_run(job.id, run)
        index.finish(job.id, JobResult(job.package, "dev-a", run=run, end="done",
                                       kinds=["no_purpose_explained", "quit_on_refusal"]))
        job = index.claim(HOSTILE_SERIAL)
        run = make_run(root, label="Clean", run_id="run-clean", refusal=False)
        index.begin_run(job.id, run)
        index.finish(job.id, JobResult(job.package, HOSTILE_SERIAL, run=run, end="budget"))
        job = index.claim("dev-a")
        index.finish(job.id, JobResult(job.package, "dev-a", error=HOSTILE_ERROR))
        job = index.claim(HOSTILE_SERIAL)
        index.finish(job.id, JobResult(job.package, HOSTILE_SERIAL, end="device_lost", device_lost=True,
                                       error="device offline"))
        index.claim("dev-a")  # com.example.lost again, now running
    return root


def page(html: str):
    return lxml.html.document_fromstring(html)


def test_the_dashboard_shows_the_nights_progress_ranking_devices_and_failures(tmp_path):
    lab = make_lab(tmp_path / "lab")
    out = write_dashboard(lab, tmp_path / "site", lang="en")
    doc = page(out.read_text(encoding="utf-8"))
    tile = {name: doc.xpath(f"string(//*[@id='n-{name}']/b)") for name in ("done", "failed", "running", "left",
                                                                            "total")}
    assert tile == {"done": "2", "failed": "1", "running": "1", "left": "1", "total": "5"}
    assert float(doc.xpath("string(//*[@id='per-hour']/b)")) > 0
    rows = doc.xpath("//table[@id='app-table']/tbody/tr")
    ranked = [r.xpath("string(td[2]//span[@class='mono'])") for r in rows]
    assert ranked == ["com.example.hostile", "com.example.broken", "com.example.clean", "com.example.later",
                      "com.example.lost"]  # findings first (worst severity first), then by package
    assert rows[0].get("data-sev") == "high medium" and "quit_on_refusal" in rows[0].get("data-kinds")
    # the app's name and APK SHA-256 as the run recorded them
    assert rows[0].xpath("string(.//span[@class='app-label'])") == HOSTILE_LABEL
    assert APK_SHA in rows[0].xpath("string(.//div[contains(@class, 'sha')]/@title)")
    # each app's report is a file beside the dashboard, with its graph exports
    links = doc.xpath("//table[@id='app-table']//a[@class='report']/@href")
    assert sorted(links) == ["runs/run-bad.html", "runs/run-clean.html"]
    for link in links:
        report = out.parent / link
        assert report.is_file()
        files = page(report.read_text(encoding="utf-8")).xpath("//*[@id='graph-files']/a/@href")
        assert sorted(files) == sorted([report.stem + ".graph.json", report.stem + ".graphml"])
        assert all((report.parent / f).is_file() for f in files)
    # charts: one bar per finding kind, three severities, one box per attempt, one bar per device
    assert len(doc.xpath("//svg[@id='chart-kind']//*[starts-with(@id, 'kind-')]")) == 2
    assert len(doc.xpath("//svg[@id='chart-severity']//*[starts-with(@id, 'severity-')]")) == 3
    assert len(doc.xpath("//svg[@id='chart-attempt']//*[starts-with(@id, 'attempt-')]")) == 5
    assert len(doc.xpath("//svg[@id='chart-device']//*[starts-with(@id, 'device-')]")) == 2
    titles = doc.xpath("//svg[@id='chart-attempt']//*[starts-with(@id, 'attempt-')]/title/text()")
    assert any("com.example.lost · device lost" in t for t in titles)
    # failures: the failed job, its last error (as text) and its attempts
    failure = doc.xpath("//tr[@class='failure']")
    assert len(failure) == 1 and HOSTILE_ERROR in failure[0].text_content()
    assert "dev-a · failed" in failure[0].text_content()


def test_app_and_device_text_stay_text_and_only_the_filter_script_runs(tmp_path):
    lab = make_lab(tmp_path / "lab")
    html = write_dashboard(lab, tmp_path / "site", lang="zh-CN").read_text(encoding="utf-8")
    doc = page(html)
    assert not doc.xpath("//*[@src='x'] | //*[@onerror] | //b[contains(., '$x$')]")
    assert HOSTILE_LABEL in doc.xpath("string(//span[@class='app-label'])")
    assert HOSTILE_SERIAL in doc.xpath("string(//table[@id='device-table'])")
    assert HOSTILE_SERIAL in "".join(doc.xpath("//svg[@id='chart-device']//text()"))  # not mathtext, not markup
    scripts = doc.xpath("//script")
    assert len(scripts) == 1 and not scripts[0].get("src")
    csp = doc.xpath("string(//meta[@http-equiv='Content-Security-Policy']/@content)")
    digest = base64.b64encode(hashlib.sha256(scripts[0].text.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp and "default-src 'none'" in csp
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # nothing from outside the page


def test_the_page_is_deterministic_and_written_atomically(tmp_path):
    lab = make_lab(tmp_path / "lab")
    view = gather_lab(lab, now=1_800_000_000.0, active=True)
    assert render_dashboard(view, "en", now=view.now) == render_dashboard(gather_lab(
        lab, now=1_800_000_000.0, active=True), "en", now=view.now)
    write_dashboard(lab, tmp_path / "site", lang="en")
    assert not [p for p in os.listdir(tmp_path / "site") if p.startswith(".tmp")]


def test_a_refresh_rewrites_only_the_reports_whose_run_changed(tmp_path):
    lab = make_lab(tmp_path / "lab")
    site = tmp_path / "site"
    write_dashboard(lab, site, lang="en")
    bad, clean = site / "runs" / "run-bad.html", site / "runs" / "run-clean.html"
    os.utime(bad, (1, 1))
    os.utime(clean, (1, 1))
    with RunStore.open(lab / "run-bad") as store:
        findings = store.findings()
    with RunStore.open(lab / "run-clean") as store:  # `naysayer analyze` re-derived the clean run's findings
        store.write_findings(findings)
    write_dashboard(lab, site, lang="en")
    assert bad.stat().st_mtime == 1 and clean.stat().st_mtime > 1
    doc = page((site / "index.html").read_text(encoding="utf-8"))
    row = doc.xpath("//tr[contains(., 'com.example.clean')]")[0]
    assert row.get("data-sev") == "high medium"  # the cached summary was refreshed too


def test_an_empty_lab_has_a_page(tmp_path):
    with LabIndex.create(tmp_path / "lab", LabOptions()):
        pass
    doc = page(write_dashboard(tmp_path / "lab", tmp_path / "site", "en").read_text(encoding="utf-8"))
    assert doc.xpath("string(//*[@id='n-total']/b)") == "0" and doc.xpath("//*[@id='by-kind']//p")


def test_lab_dashboard_cli(tmp_path, capsys):
    lab = make_lab(tmp_path / "lab")
    assert main(["lab", "dashboard", str(lab), "-o", str(tmp_path / "site"), "--lang", "en"]) == 0
    assert (tmp_path / "site" / "index.html").is_file()
    capsys.readouterr()
    assert main(["lab", "dashboard", str(tmp_path / "nolab"), "-o", str(tmp_path / "x")]) == 2
    assert main(["lab", "dashboard", str(lab), "-o", str(lab / "run-bad" / "site")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("naysayer: ") for line in err)
    assert "not a lab folder" in err[0] and "inside a run" in err[1]
    assert not (lab / "run-bad" / "site").exists()


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_charts_label_kinds_in_the_pages_language(tmp_path, lang):
    lab = make_lab(tmp_path / "lab")
    doc = page(write_dashboard(lab, tmp_path / "site", lang, reports=False).read_text(encoding="utf-8"))
    labels = "".join(doc.xpath("//svg[@id='chart-kind']//text()"))
    assert ("拒绝权限后应用退出" in labels) == (lang == "zh-CN")
    assert ("App quits after a permission is refused" in labels) == (lang == "en")


def test_the_refresher_keeps_the_page_current_and_writes_the_last_one_on_close(tmp_path):
    from reports.dashboard import DashboardRefresher

    lab = make_lab(tmp_path / "lab")
    refresher = DashboardRefresher(lab, tmp_path / "site", "en").start()
    for _ in range(5):
        refresher.refresh()  # requests while a page is being written fold into one more pass
    with LabIndex.open(lab) as index:  # the running job ends meanwhile
        job = index.jobs("running")[0]
        index.finish(job.id, JobResult(job.package, "dev-a", error="gave up"))
    refresher.close()
    doc = page((tmp_path / "site" / "index.html").read_text(encoding="utf-8"))
    assert doc.xpath("string(//*[@id='n-failed']/b)") == "2" and doc.xpath("string(//*[@id='n-running']/b)") == "0"
    assert "not running" in doc.xpath("string(//p[@class='sub'])") and refresher.error == ""
