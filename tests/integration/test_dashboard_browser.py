"""The lab dashboard and a run report, looked at in headless chromium at a phone's width (375 px) and a desktop's
(1280 px): nothing wider than the screen, every chart drawn with one mark per thing it counts, every link going to a
file that exists, nothing requested from anywhere, and the filters (the dashboard's one script, allowed by its hash)
working. The browser is driven as in test_report_browser.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote

import pytest

from reports.dashboard import write_dashboard
from reports.dashboard.data import gather_lab
from reports.html import write_run_report
from tests.integration.test_report_browser import CHROMIUM, Browser
from tests.unit.report_runs import HOSTILE_DIALOG, HOSTILE_LABEL, make_run
from tests.unit.test_dashboard import make_lab
from tests.unit.test_report_language import busy_run

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed")
WIDTHS = {"phone": 375, "desktop": 1280}

LAYOUT = """(() => {
  const vw = document.documentElement.clientWidth;
  const charts = {};
  for (const svg of document.querySelectorAll('svg.chart')) {
    const name = svg.id.replace('chart-', '');
    const r = svg.getBoundingClientRect();
    charts[name] = {marks: svg.querySelectorAll('[id^="' + name + '-"]').length, width: r.width, height: r.height,
                    left: r.left, right: r.right, scrolls: !!svg.closest('.scroll')};
  }
  const outside = [...document.querySelectorAll('body *')].filter(e => {
    if (e.closest('.scroll, .graph-box') || e.closest('[hidden]')) return false;
    const r = e.getBoundingClientRect();
    return r.width > 0 && (r.right > vw + 1 || r.left < -1);
  }).map(e => e.tagName + '.' + (e.getAttribute('class') || '')).slice(0, 10);
  const rows = () => [...document.querySelectorAll('#app-table tbody tr')].filter(r => !r.hidden).length;
  const form = document.getElementById('filters');
  const filtered = {};
  if (form) {
    filtered.all = rows();
    form.elements.state.value = 'failed'; form.dispatchEvent(new Event('change'));
    filtered.failed = rows();
    form.elements.state.value = ''; form.elements.severity.value = 'high'; form.dispatchEvent(new Event('change'));
    filtered.high = rows();
    form.elements.severity.value = ''; form.elements.app.value = 'CLEAN'; form.dispatchEvent(new Event('input'));
    filtered.app = rows();
    form.elements.app.value = ''; form.dispatchEvent(new Event('input'));
    filtered.shown = document.getElementById('shown').textContent;
  }
  return {vw, scrollWidth: document.documentElement.scrollWidth, charts, outside,
          links: [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href')),
          formShown: form ? !form.hidden : null, filtered, scripts: document.scripts.length,
          injected: document.querySelectorAll('img[src="x"], [onerror]').length};
})()"""


def look(browser: Browser, page: Path, width: int, screenshot: Path | None = None) -> dict:
    """Open `page` in a fresh tab at `width` CSS px (a phone: mobile viewport), return its layout facts and what the
    tab requested and logged; with `screenshot`, save the whole page there as PNG."""
    target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page", "Network", "Log", "Runtime"):
        browser.send(f"{domain}.enable", session=session)
    browser.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": 800, "deviceScaleFactor": 1,
                                                       "mobile": width < 600}, session=session)
    browser.send("Page.navigate", {"url": page.resolve().as_uri()}, session=session)
    browser.wait_event(("Page.loadEventFired",), session)
    if screenshot is not None:
        shot = browser.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True},
                            session=session)
        import base64

        screenshot.write_bytes(base64.b64decode(shot["data"]))
    facts = browser.send("Runtime.evaluate", {"expression": LAYOUT, "returnByValue": True},
                         session=session)["result"]["value"]
    with browser._lock:  # the events this tab saw
        seen = [e for e in browser.events if e.get("sessionId") == session]
    browser.send("Target.closeTarget", {"targetId": target})
    facts["requests"] = [e["params"]["request"]["url"] for e in seen if e["method"] == "Network.requestWillBeSent"]
    facts["logs"] = [e["params"]["entry"]["text"] for e in seen if e["method"] == "Log.entryAdded"]
    facts["errors"] = [e["params"] for e in seen if e["method"] == "Runtime.exceptionThrown"]
    return facts


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    b = Browser(tmp_path_factory.mktemp("chromium-profile"))
    yield b
    b.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("dash")
    lab = make_lab(root / "lab")
    page = write_dashboard(lab, root / "site", lang="zh-CN")
    runs = tmp_path_factory.mktemp("runs")
    reports = {
        "busy": write_run_report(busy_run(runs, "done"), root / "reports" / "busy.html"),
        "hostile": write_run_report(make_run(runs, label=HOSTILE_LABEL, dialog_text=HOSTILE_DIALOG, run_id="hostile"),
                                    root / "reports" / "hostile.html", lang="en"),
    }
    return {"lab": lab, "dashboard": page, "reports": reports}


def self_contained(facts: dict, page: Path) -> None:
    assert all(url == page.resolve().as_uri() or url.startswith("data:") for url in facts["requests"]), \
        facts["requests"]
    assert not [line for line in facts["logs"] if "Content Security Policy" in line or "Refused" in line], \
        facts["logs"]
    assert not facts["errors"] and facts["injected"] == 0


def fits(facts: dict) -> None:
    assert facts["scrollWidth"] <= facts["vw"], f"page {facts['scrollWidth']} px wide on a {facts['vw']} px screen"
    assert facts["outside"] == [], facts["outside"]


def links_resolve(facts: dict, page: Path) -> None:
    for href in facts["links"]:
        if href.startswith("#"):
            continue
        assert "://" not in href and not href.startswith("//"), href
        assert (page.parent / unquote(href.split("#")[0])).is_file(), href


@pytest.mark.parametrize("screen", sorted(WIDTHS))
def test_dashboard_fits_the_screen_with_its_charts_links_and_filters(browser, site, screen):
    page = site["dashboard"]
    facts = look(browser, page, WIDTHS[screen])
    self_contained(facts, page)
    fits(facts)
    lab = gather_lab(site["lab"], active=False)
    charts = facts["charts"]
    assert {name: c["marks"] for name, c in charts.items()} == {
        "kind": len(lab.kinds), "severity": 3, "attempt": len(lab.attempts), "device": len(lab.devices)}
    for name, chart in charts.items():  # drawn, readable, on the screen (or in a box that scrolls sideways)
        assert chart["width"] > min(200, WIDTHS[screen] / 2) and chart["height"] > 40, (name, chart)
        assert chart["scrolls"] or (chart["left"] >= 0 and chart["right"] <= facts["vw"]), (name, chart)
    assert charts["attempt"]["height"] > 60  # the timeline keeps its size on a phone: it scrolls
    links_resolve(facts, page)
    assert sum(1 for h in facts["links"] if h.startswith("runs/")) == 2
    # the filter script ran (the CSP let it, by its hash) and filters the apps
    assert facts["scripts"] == 1 and facts["formShown"] is True
    assert facts["filtered"] == {"all": 5, "failed": 1, "high": 1, "app": 1, "shown": "5"}


@pytest.mark.parametrize("screen", sorted(WIDTHS))
@pytest.mark.parametrize("name", ["busy", "hostile"])
def test_run_report_fits_the_screen_and_links_its_graph_files(browser, site, screen, name):
    page = site["reports"][name]
    facts = look(browser, page, WIDTHS[screen])
    self_contained(facts, page)
    fits(facts)
    links_resolve(facts, page)
    graph_files = [h for h in facts["links"] if h.endswith((".graph.json", ".graphml"))]
    assert len(graph_files) == 2
    data = json.loads((page.parent / graph_files[0]).read_text(encoding="utf-8")) if graph_files[0].endswith(
        ".json") else json.loads((page.parent / graph_files[1]).read_text(encoding="utf-8"))
    assert data["nodes"] and "links" in data
    assert facts["scripts"] == 0
