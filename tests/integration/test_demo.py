"""The demo's job, end to end: the whole zoo crawled on simulated devices through the real adb server, with the
deny strategy, in parallel. Every expected finding must be found, and no clean control may get any."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.demo import crawl_zoo
from crawler.lab import found_kinds
from crawler.store import RunStore

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def zoo_results(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    apps, results = crawl_zoo(root, devices=4, budget=240.0)
    return apps, results


def test_every_zoo_app_was_crawled_without_error(zoo_results):
    apps, results = zoo_results
    assert len(results) == len(apps) >= 20
    assert [r.error for r in results if r.error] == []
    assert all(r.end in ("done", "budget", "steps") for r in results), [(r.package, r.end, r.detail) for r in results]


def _kinds(apps, results):
    """(package, expected kinds, found kinds) for every zoo app."""
    return [(app.manifest.package, {e.kind for e in app.expected}, set(found_kinds(result)))
            for app, result in zip(apps, results)]


def test_every_expected_finding_is_found(zoo_results):
    missed = {pkg: sorted(expected - found) for pkg, expected, found in _kinds(*zoo_results) if expected - found}
    assert missed == {}


def test_no_false_findings_and_clean_controls_get_none(zoo_results):
    extra = {pkg: sorted(found - expected) for pkg, expected, found in _kinds(*zoo_results) if found - expected}
    assert extra == {}
    apps, _ = zoo_results
    assert sum(1 for app in apps if app.control) >= 5


def test_each_finding_carries_its_evidence(zoo_results):
    _, results = zoo_results
    for result in results:
        with RunStore.open(result.run) as store:
            assert store.verify().first_bad_seq is None
            seqs = {s.seq for s in store.trace().steps}
            for finding in store.findings():
                assert finding["id"] and finding["basis"] and finding["steps"]
                assert set(finding["steps"]) <= seqs, finding["id"]


def test_demo_command_prints_the_score_as_json(tmp_path):
    """`naysayer demo --json` on a small fleet and two apps (the whole zoo is crawled above): the documented shape,
    the apps asked for and no other, and a clean exit."""
    out = subprocess.run([sys.executable, "-m", "crawler.cli", "demo", "--devices", "2", "--json", "--out", str(tmp_path),
                          "--budget", "60s", "--app", "weather_quit", "--app", "com.example.suishou.notes"],
                         capture_output=True, text=True, cwd=REPO, timeout=600, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    data = json.loads(out.stdout)
    assert {"apps", "precision", "recall"} <= set(data)
    assert all({"package", "expected", "found", "ok"} <= set(app) for app in data["apps"])
    assert len(data["apps"]) == 2 and all(app["ok"] for app in data["apps"])
    assert len(list(tmp_path.glob("demo-*/*/trace.sqlite"))) == 2


def test_demo_of_an_app_the_zoo_lacks_is_one_line_and_starts_nothing(tmp_path):
    out = subprocess.run([sys.executable, "-m", "crawler.cli", "demo", "--out", str(tmp_path), "--app", "no_such_app"],
                         capture_output=True, text=True, cwd=REPO, timeout=120, check=False)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "no zoo app named 'no_such_app'" in out.stderr
    assert not list(tmp_path.iterdir())
