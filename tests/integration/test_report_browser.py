"""The HTML report in a real headless browser (Debian chromium), driven over the DevTools protocol on a pipe: pages
of a real crawl (a zoo app on a simulated phone through the real adb), of a run without findings, and of a run whose
app label and dialog text are hostile. Each page renders, every image decodes, nothing is requested but the file
itself and data: images, the CSP never has to block anything, and no app text becomes markup or script.

One browser for the whole module (chromium is slow to start on two cores).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from crawler.crawl import crawl_app
from emulator.sim.device import SimDevice
from emulator.zoo import load_zoo
from reports.html import write_index, write_run_report
from tests.unit.report_runs import HOSTILE_DIALOG, HOSTILE_LABEL, make_run

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
WEATHER = "com.example.qingtian.weather"  # quits when location is refused
WEATHER_APP = Path(__file__).resolve().parents[2] / "emulator" / "zoo" / "apps" / "weather_quit.yaml"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed")

PAGE_FACTS = """(async () => {
  const images = [...document.images];
  const svgImages = [...document.querySelectorAll('svg image')];
  const decoded = await Promise.all(svgImages.map(el => {
    const probe = new Image(); probe.src = el.getAttribute('href');
    return probe.decode().then(() => probe.naturalWidth, () => 0);
  }));
  return {
    title: document.title,
    headings: [...document.querySelectorAll('h1, h2, h3')].map(h => h.textContent.trim()),
    images: images.length,
    broken: images.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.alt),
    svgImages: svgImages.length,
    svgBroken: decoded.filter(w => w === 0).length,
    used: [...document.querySelectorAll('svg.graph use')].filter(u => u.getBBox().width > 0).length,
    scripts: document.querySelectorAll('script').length,
    injected: document.querySelectorAll('img[src="x"], [onerror], [onload]').length,
    labels: [...document.querySelectorAll('.app-label')].map(e => e.textContent),
    appTexts: [...document.querySelectorAll('.app-text')].map(e => e.textContent),
    taps: document.querySelectorAll('.shot .tap').length,
    tapBoxes: [...document.querySelectorAll('.shot .tap')].map(t => t.getBoundingClientRect().width),
    text: document.body.innerText,
  };
})()"""


class Browser:
    """Headless chromium on --remote-debugging-pipe: fd 3 takes commands, fd 4 gives answers, NUL-separated JSON."""

    def __init__(self, profile: Path):
        to_child, self._commands = os.pipe()
        self._answers, from_child = os.pipe()
        # The child needs the pipe ends as fds 3 and 4: move ours above 10 and let bash put them in place
        # (dash takes one-digit fds only).
        child_in, child_out = (fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_child, from_child))
        os.close(to_child)
        os.close(from_child)
        args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-extensions", "--no-default-browser-check", f"--user-data-dir={profile}",
                "--remote-debugging-pipe", "about:blank"]
        self.process = subprocess.Popen(
            ["/bin/bash", "-c", f'exec "$0" "$@" 3<&{child_in} 4>&{child_out} {child_in}<&- {child_out}>&-', *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            pass_fds=(child_in, child_out))
        os.close(child_in)
        os.close(child_out)
        self._next_id = 0
        self._lock = threading.Condition()
        self._results: dict[int, dict] = {}
        self.events: list[dict] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        buffer = b""
        while chunk := os.read(self._answers, 1 << 16):
            buffer += chunk
            *messages, buffer = buffer.split(b"\0")
            with self._lock:
                for raw in messages:
                    message = json.loads(raw)
                    if "id" in message:
                        self._results[message["id"]] = message
                    else:
                        self.events.append(message)
                self._lock.notify_all()

    def send(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 60) -> dict:
        with self._lock:
            self._next_id += 1
            ident = self._next_id
        message = {"id": ident, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        with self._lock:
            assert self._lock.wait_for(lambda: ident in self._results, timeout), f"{method}: no answer"
            answer = self._results.pop(ident)
        assert "error" not in answer, f"{method}: {answer['error']}"
        return answer["result"]

    def wait_event(self, methods: tuple[str, ...], session: str, timeout: float = 60) -> str:
        """Wait for the first of `methods` not yet consumed in this session: "load" or "dialog" (an alert)."""
        def found():
            return next((e for e in self.events if e["method"] in methods and e.get("sessionId") == session
                         and not e.get("consumed")), None)

        with self._lock:
            assert self._lock.wait_for(found, timeout), f"none of {methods}"
            event = found()
            event["consumed"] = True
            return "dialog" if event["method"] == "Page.javascriptDialogOpening" else "load"

    def open(self, path: Path, bypass_csp: bool = False) -> dict:
        """Load a page in a fresh tab; returns the page's facts and what the tab saw (requests, logs, dialogs)."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Network", "Log", "Runtime"):
            self.send(f"{domain}.enable", session=session)
        if bypass_csp:  # to prove escaping alone holds, without the CSP wall behind it
            self.send("Page.setBypassCSP", {"enabled": True}, session=session)
        self.send("Page.navigate", {"url": path.resolve().as_uri()}, session=session)
        while self.wait_event(("Page.loadEventFired", "Page.javascriptDialogOpening"), session) == "dialog":
            self.send("Page.handleJavaScriptDialog", {"accept": True}, session=session)  # recorded, then let go
        facts = self.send("Runtime.evaluate", {"expression": PAGE_FACTS, "awaitPromise": True, "returnByValue": True},
                          session=session)["result"]["value"]
        with self._lock:
            seen = [e for e in self.events if e.get("sessionId") == session]
        self.send("Target.closeTarget", {"targetId": target})
        facts["requests"] = [e["params"]["request"]["url"] for e in seen if e["method"] == "Network.requestWillBeSent"]
        facts["logs"] = [e["params"]["entry"]["text"] for e in seen if e["method"] == "Log.entryAdded"]
        facts["console"] = [e["params"] for e in seen if e["method"] == "Runtime.consoleAPICalled"]
        facts["dialogs"] = [e["params"]["message"] for e in seen if e["method"] == "Page.javascriptDialogOpening"]
        return facts

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=10)
        except (AssertionError, OSError):
            pass
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._commands)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    b = Browser(tmp_path_factory.mktemp("chromium-profile"))
    yield b
    b.close()


@pytest.fixture(scope="module")
def crawled_run(adb_server, tmp_path_factory) -> Path:
    from emulator.sim.adb_server import serve_backend

    backend = SimDevice("sim", skin="miui", apps=load_zoo([WEATHER_APP]), storage_dir=tmp_path_factory.mktemp("dev"))
    registered = serve_backend(adb_server.client, backend)
    backend.set_serial(registered.serial)
    try:
        run, reason, _ = crawl_app(serial=registered.serial, package=WEATHER, budget=30, idle=0, ocr=False,
                                   progress=False, out=tmp_path_factory.mktemp("runs"), adb_port=adb_server.port)
    finally:
        registered.stop()
    assert reason in ("done", "budget", "steps")
    return run


@pytest.fixture(scope="module")
def pages(crawled_run, tmp_path_factory) -> dict[str, Path]:
    site = tmp_path_factory.mktemp("site")
    runs = tmp_path_factory.mktemp("synthetic")
    hostile = make_run(runs, label=HOSTILE_LABEL, dialog_text=HOSTILE_DIALOG, run_id="hostile")
    clean = make_run(runs, refusal=False, run_id="clean")
    return {
        "crawl-zh": write_run_report(crawled_run, site / "crawl-zh.html"),
        "crawl-en": write_run_report(crawled_run, site / "crawl-en.html", lang="en"),
        "hostile": write_run_report(hostile, site / "hostile.html"),
        "clean": write_run_report(clean, site / "clean.html", lang="en"),
        "index": write_index([runs, crawled_run], site / "index.html", with_reports=True),
    }


def loaded_cleanly(facts: dict, page: Path) -> None:
    """Rendered, every image decoded, nothing fetched but the page, no CSP violation, no script ran."""
    assert facts["headings"], "nothing rendered"
    assert not facts["broken"] and facts["svgBroken"] == 0, facts
    assert all(url == page.resolve().as_uri() or url.startswith("data:") for url in facts["requests"]), facts["requests"]
    assert not [line for line in facts["logs"] if "Content Security Policy" in line or "Refused" in line], facts["logs"]
    assert facts["scripts"] == 0 and not facts["dialogs"] and not facts["console"]


def test_report_of_a_real_crawl_renders_offline_with_its_screenshots(browser, pages):
    facts = browser.open(pages["crawl-zh"])
    loaded_cleanly(facts, pages["crawl-zh"])
    assert facts["headings"][0] == "naysayer 检测报告"
    assert "发现摘要" in facts["headings"] and "状态转换图" in facts["headings"]
    assert any("拒绝权限后应用退出" in h for h in facts["headings"])
    assert facts["images"] >= 3 and facts["svgImages"] >= 2 and facts["used"] >= 2  # screenshots and thumbnails
    assert facts["taps"] >= 1 and all(w > 4 for w in facts["tapBoxes"])  # the tapped control drawn, visible
    assert "工信部信管函〔2020〕164号" in facts["text"] and WEATHER in facts["text"]


def test_english_report_of_the_same_crawl(browser, pages):
    facts = browser.open(pages["crawl-en"])
    loaded_cleanly(facts, pages["crawl-en"])
    assert facts["headings"][0] == "naysayer report" and "Summary of findings" in facts["headings"]
    assert "App quits after a permission is refused" in facts["text"]


def test_hostile_app_text_is_shown_as_text_even_without_the_csp(browser, pages):
    facts = browser.open(pages["hostile"], bypass_csp=True)
    loaded_cleanly(facts, pages["hostile"])
    assert facts["injected"] == 0 and facts["scripts"] == 0 and not facts["dialogs"]
    assert HOSTILE_LABEL in facts["labels"]
    assert HOSTILE_DIALOG in facts["appTexts"]
    assert HOSTILE_LABEL in facts["title"]


def test_a_run_without_findings_says_so(browser, pages):
    facts = browser.open(pages["clean"])
    loaded_cleanly(facts, pages["clean"])
    assert "No findings in this run." in facts["text"]


def test_index_page_lists_every_run(browser, pages):
    facts = browser.open(pages["index"])
    loaded_cleanly(facts, pages["index"])
    assert facts["headings"] == ["naysayer 检测汇总"]
    assert HOSTILE_LABEL in facts["labels"] and facts["injected"] == 0
    for run_id in ("hostile", "clean", WEATHER):
        assert run_id in facts["text"]
