"""The index of a lab folder: one line per app from the lab's own index (done, failed, queued), hostile text as text."""

from __future__ import annotations

from pathlib import Path

import lxml.html

from crawler.lab.index import LabIndex
from crawler.lab.job import JobResult, JobSpec
from crawler.lab.options import LabOptions
from reports.html import render_index, write_index
from tests.unit.report_runs import HOSTILE_LABEL, make_run

HOSTILE_ERROR = "<img src=x onerror=alert(1)> crashed"


def make_lab(root: Path) -> Path:
    with LabIndex.create(root, LabOptions(max_failures=1)) as index:
        index.add_jobs([JobSpec("com.example.hostile"), JobSpec("com.example.broken"), JobSpec("com.example.later")])
        crawled = index.claim("dev-a")
        run = make_run(root, label=HOSTILE_LABEL, run_id="run-crawled")
        index.begin_run(crawled.id, run)
        index.finish(crawled.id, JobResult(crawled.package, "dev-a", run=run, end="done"))
        broken = index.claim("dev-a")
        index.finish(broken.id, JobResult(broken.package, "dev-a", error=HOSTILE_ERROR))
    return root


def test_a_lab_folder_lists_every_app_with_its_job_state(tmp_path):
    lab = make_lab(tmp_path / "lab")
    doc = lxml.html.document_fromstring(render_index([lab], lang="en"))
    rows = doc.xpath("//table[@id='runs']/tr[td]")
    states = [row.xpath("string(td[contains(@class, 'job')])") for row in rows]
    assert states == ["done", "failed", "queued"]
    assert "run-crawled" in rows[0].text_content() and HOSTILE_LABEL in rows[0].text_content()
    assert "job failed" in rows[1].text_content() and HOSTILE_ERROR in rows[1].text_content()
    assert not doc.xpath("//*[@src='x']") and not doc.xpath("//script")


def test_with_reports_writes_the_crawled_apps_report_and_links_it(tmp_path):
    lab = make_lab(tmp_path / "lab")
    out = write_index([lab], tmp_path / "night.html", lang="en", with_reports=True)
    links = lxml.html.document_fromstring(out.read_text(encoding="utf-8")).xpath("//a/@href")
    assert links == ["night-runs/run-crawled.html"] and (tmp_path / "night-runs" / "run-crawled.html").is_file()
