"""The HTML report without a browser: what the page says (app, device, findings, legal basis, timeline, graph), that
app text stays text, and one clear line for bad input. The page in a real browser: tests/integration/test_report_browser.py.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import lxml.etree
import lxml.html
import networkx as nx
import pytest
import yaml

from crawler.apk import read_apk_facts
from reports.graph_svg import GraphPicture, Highlight, Thumb
from reports.html import ReportError, UnknownLanguage, render_index, render_run_report, write_index
from tests.cli_runner import naysayer
from tests.unit.apk_files import v1_apk
from tests.unit.report_runs import DENY_BOUNDS, HOSTILE_DIALOG, HOSTILE_LABEL, PACKAGE, make_run

REPO = Path(__file__).resolve().parents[2]


def page(html: str) -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(html)


def no_injection(doc: lxml.html.HtmlElement) -> None:
    assert not doc.xpath("//script"), "a <script> element in the page"
    assert not doc.xpath("//*[@src='x']"), "an element made from app text"
    assert not doc.xpath("//@*[starts-with(name(), 'on')]"), "an event handler attribute"


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory) -> Path:
    return make_run(tmp_path_factory.mktemp("runs"), label=HOSTILE_LABEL, dialog_text=HOSTILE_DIALOG)


@pytest.fixture(scope="module")
def hostile_zh(hostile_run) -> str:
    return render_run_report(hostile_run)


def test_report_says_what_app_what_device_and_what_was_found(hostile_zh):
    doc = page(hostile_zh)
    assert doc.get("lang") == "zh-CN"
    text = doc.text_content()
    assert "naysayer 检测报告" in text and PACKAGE in text
    assert "拒绝权限后应用退出" in text  # the finding's zh title from the taxonomy
    assert "工信部信管函〔2020〕164号" in text  # its legal basis
    assert "sim" in text and "AOSP" in text and "13" in text  # device model, ROM, Android
    assert "naysayer 0.1.0" in text
    assert "哈希链完整" in text
    metrics = {m.text_content().strip() for m in doc.find_class("metric")}
    assert any(m.endswith("拒绝授权次数") and m.startswith("1") for m in metrics)


def test_report_in_english(hostile_run):
    doc = page(render_run_report(hostile_run, lang="en"))
    text = doc.text_content()
    assert doc.get("lang") == "en"
    assert "App quits after a permission is refused" in text and "Legal basis" in text and "deny" in text


def test_hostile_app_text_stays_text(hostile_zh):
    doc = page(hostile_zh)
    no_injection(doc)
    labels = [e.text_content() for e in doc.find_class("app-label")]
    assert HOSTILE_LABEL in labels
    assert HOSTILE_DIALOG in [e.text_content() for e in doc.find_class("app-text")]
    assert "<img src=x" not in hostile_zh and "</script><script>" not in hostile_zh  # escaped in the source too


def test_page_is_self_contained_with_a_strict_csp(hostile_zh):
    doc = page(hostile_zh)
    csp = doc.xpath("//meta[@http-equiv='Content-Security-Policy']/@content")
    assert csp and "default-src 'none'" in csp[0] and "img-src data:" in csp[0]
    for attr in doc.xpath("//@src | //@href | //*[local-name()='use' or local-name()='image']/@*[local-name()='href']"):
        assert attr.startswith(("data:image/", "#")), attr
    assert not doc.xpath("//link | //iframe | //object | //embed | //form")


def test_the_tapped_control_is_marked_on_the_screenshot_before_the_tap(hostile_zh):
    doc = page(hostile_zh)
    marks = doc.find_class("tap")
    assert len(marks) == 1
    style = dict(part.split(":") for part in marks[0].get("style").split(";"))
    expected = (DENY_BOUNDS[0] / 720 * 100, DENY_BOUNDS[1] / 1600 * 100)
    assert (float(style["left"].rstrip("%")), float(style["top"].rstrip("%"))) == pytest.approx(expected, abs=0.01)
    shot = marks[0].getparent()
    assert shot.find("img").get("src").startswith("data:image/jpeg;base64,")
    step = shot.getparent()
    assert "系统权限弹窗" in step.text_content()  # the dialog's screenshot, not the launcher after it


def test_graph_highlights_the_findings_path(hostile_zh):
    doc = page(hostile_zh)
    finding_graph = doc.xpath("//section[contains(@class,'finding')][contains(., '拒绝权限后应用退出')]"
                              "//svg[contains(@class,'graph')]")
    assert finding_graph, "each finding has its graph"
    lit_edges = finding_graph[0].xpath(".//*[contains(@class,'edge') and contains(@class,'hl')]")
    assert lit_edges and "拒绝" in lit_edges[0].text_content()
    assert finding_graph[0].xpath(".//*[contains(@class,'node') and contains(@class,'hl')]")
    run_graph = doc.get_element_by_id("graph-run")
    assert not run_graph.xpath(".//*[contains(@class,' hl')]")  # the overview highlights nothing
    assert doc.xpath("//svg[contains(@class,'graph-defs')]//*[local-name()='image']")  # thumbnails defined once


def test_a_run_without_findings_renders_and_says_so(tmp_path):
    run = make_run(tmp_path, refusal=False, run_id="clean")
    doc = page(render_run_report(run))
    assert doc.get_element_by_id("no-findings").text_content().strip() == "本次检测未发现问题。"
    assert not doc.find_class("finding")
    assert "No findings in this run." in render_run_report(run, lang="en")


def test_screenshots_that_are_not_images_do_not_stop_the_report(tmp_path):
    run = make_run(tmp_path, bad_png=True, run_id="badpng")
    doc = page(render_run_report(run, lang="en"))
    assert "no screenshot" in doc.text_content()
    assert not doc.xpath("//img")


def test_a_broken_chain_is_shown_not_hidden(tmp_path):
    import sqlite3

    run = make_run(tmp_path, run_id="broken")
    with sqlite3.connect(run / "trace.sqlite") as db:
        db.execute("UPDATE steps SET t = t + 1 WHERE seq = 3")
    banner = page(render_run_report(run, lang="en")).get_element_by_id("integrity").text_content()
    assert "hash chain broken at step 3" in banner


def test_bad_input_is_one_clear_error(tmp_path, hostile_run):
    with pytest.raises(ReportError, match="no such run directory"):
        render_run_report(tmp_path / "nope")
    with pytest.raises(ReportError, match="not a naysayer run"):
        render_run_report(tmp_path)
    with pytest.raises(UnknownLanguage):
        render_run_report(hostile_run, lang="fr")
    apk = tmp_path / "other.apk"
    apk.write_bytes(b"PK")
    with pytest.raises(ReportError, match="crawled without --apk"):
        render_run_report(hostile_run, apk=apk)


def test_cli_writes_the_report_and_a_missing_run_is_one_line(tmp_path, hostile_run):
    out = tmp_path / "r.html"
    done = naysayer("report", str(hostile_run), "-o", str(out), "--lang", "en")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(out) and "Legal basis" in out.read_text(encoding="utf-8")
    missing = naysayer("report", str(tmp_path / "no-such-run"))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert missing.stderr.strip().splitlines() == [f"naysayer: {tmp_path / 'no-such-run'}: no such run directory"]


def test_report_and_index_are_never_written_into_the_run(tmp_path):
    run = make_run(tmp_path)
    trace = (run / "trace.sqlite").read_bytes()
    done = naysayer("report", str(run), "-o", str(run / "trace.sqlite"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip() == (f"naysayer: {run / 'trace.sqlite'}: is inside the run {run}; a run is evidence "
                                   "and is never written to (write the report elsewhere)")
    with pytest.raises(ReportError, match="is inside the run"):
        write_index([run], run / "index.html")
    assert (run / "trace.sqlite").read_bytes() == trace and not (run / "index.html").exists()


def test_report_of_a_run_named_by_its_database_is_named_after_the_run(tmp_path, monkeypatch):
    from crawler.cli import main

    run = make_run(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["report", str(run / "trace.sqlite")]) == 0
    assert (tmp_path / f"{run.name}.html").is_file() and not (tmp_path / "trace.sqlite.html").exists()


def test_index_lists_runs_links_their_reports_and_survives_a_bad_one(tmp_path):
    runs = tmp_path / "night"
    make_run(runs, label=HOSTILE_LABEL, run_id="a-hostile")
    make_run(runs, refusal=False, run_id="b-clean")
    (runs / "c-damaged").mkdir()
    (runs / "c-damaged" / "trace.sqlite").write_bytes(b"this is not sqlite" * 100)
    out = write_index([runs], tmp_path / "site" / "index.html", lang="en", with_reports=True)
    doc = page(out.read_text(encoding="utf-8"))
    no_injection(doc)
    rows = doc.xpath("//tr[contains(@class,'run')]")
    assert [r.xpath("string(td[1])").strip() for r in rows] == ["a-hostile", "b-clean", "c-damaged"]
    assert HOSTILE_LABEL in rows[0].text_content() and "quit_on_refusal" in rows[0].text_content()
    assert "unreadable" in rows[2].text_content() and not rows[2].xpath(".//a")
    href = rows[0].xpath(".//a/@href")[0]
    assert (out.parent / href).is_file()
    assert "拒绝权限后应用退出" not in render_index([runs / "a-hostile"], lang="en")
    assert "naysayer 检测汇总" in render_index([runs / "a-hostile"])


def test_index_of_a_folder_without_runs_is_an_error(tmp_path):
    with pytest.raises(ReportError, match="no naysayer runs"):
        write_index([tmp_path], tmp_path / "i.html")


# -- the graph picture ------------------------------------------------------------------------------------------
def hostile_graph() -> nx.MultiDiGraph:
    g = nx.MultiDiGraph()
    for i, state in enumerate(("a", "b", 'c"><script>')):
        g.add_node(state, package="p", activity=f".A{i}</text><script>x</script>", scene="app", first_seq=i,
                   last_seq=i, visits=1, png="")
    for seq, (u, v, text) in enumerate([("a", "b", "<b>go</b>"), ("a", "b", "<b>go</b>"), ("b", "a", "back"),
                                        ("b", 'c"><script>', "]]>&"), ("b", "b", "noop")], start=10):
        g.add_edge(u, v, key=seq, seq=seq, type="tap", role="", text=text, outcome="new_state")
    return g


def test_graph_svg_escapes_app_text_and_merges_repeated_actions():
    picture = GraphPicture(hostile_graph(), {"a": Thumb("data:image/jpeg;base64,AAAA", 720, 1600)})
    svg = picture.svg(Highlight(frozenset({"a"}), frozenset({10})), svg_id="t")
    root = lxml.etree.fromstring(svg.encode())  # well-formed XML whatever the app wrote
    assert not root.xpath("//*[local-name()='script']")
    labels = [t.xpath("string()") for t in root.xpath("//*[local-name()='g'][contains(@class,'edge')]")]
    assert any("tap <b>go</b> ×2" in label for label in labels)
    assert len(root.xpath("//*[contains(@class,'edge') and contains(@class,'hl')]")) == 1
    assert len(root.xpath("//*[contains(@class,'node') and contains(@class,'hl')]")) == 1
    defs = lxml.etree.fromstring(picture.defs().encode())
    assert defs.xpath("//*[local-name()='image']/@href") == ["data:image/jpeg;base64,AAAA"]


def test_large_graphs_keep_the_findings_states():
    g = nx.MultiDiGraph()
    for i in range(100):
        g.add_node(f"s{i}", first_seq=i, visits=100 - i, scene="app", activity="", package="")
    chosen = GraphPicture.choose(g, keep={"s99"}, max_states=10)
    assert len(chosen) == 10 and "s99" in chosen and "s0" in chosen and "s50" not in chosen


# -- the signing certificate ------------------------------------------------------------------------------------
def test_report_shows_the_signer_of_the_runs_apk_and_refuses_another(tmp_path):
    apk = v1_apk(tmp_path / "app.apk")
    sha = hashlib.sha256(apk.read_bytes()).hexdigest()
    run = make_run(tmp_path / "runs", label="Signed", apk_sha256=sha, run_id="signed")
    doc = page(render_run_report(run, lang="en", apk=apk))
    signer = doc.find_class("signer")[0].text_content()
    assert "CN=\\<b\\>Example Dev" in signer and sha in doc.text_content()  # RFC 4514 text, shown as text
    no_injection(doc)
    assert "unknown" in page(render_run_report(run, lang="en")).xpath("string(//td[contains(., 'unknown')])")
    other = v1_apk(tmp_path / "other.apk")
    with pytest.raises(ReportError, match="is not the run's APK"):
        render_run_report(run, apk=other)


def test_report_shows_the_signers_the_crawl_recorded_without_the_apk(tmp_path):
    facts = read_apk_facts(v1_apk(tmp_path / "app.apk"))
    run = make_run(tmp_path / "runs", label="Signed", apk_sha256=facts.sha256, run_id="recorded",
                   signers=[s.to_json() for s in facts.signers])
    doc = page(render_run_report(run, lang="en"))
    assert "Example Dev" in doc.find_class("signer")[0].text_content()
    no_injection(doc)


def test_report_lists_the_ad_sdks_the_crawl_found_in_the_apk(tmp_path):
    run = make_run(tmp_path / "runs", run_id="sdks", sdks=["pangle", "gdt", "<script>x</script>"])
    doc = page(render_run_report(run, lang="en"))
    row = doc.get_element_by_id("ad-sdks").text_content()
    assert "Pangle / 穿山甲" in row and "优量汇" in row and "<script>x</script>" in row  # unknown ids shown as text
    no_injection(doc)
    none = page(render_run_report(make_run(tmp_path / "runs2", run_id="none", sdks=[]), lang="en"))
    assert "no known ad SDK" in none.get_element_by_id("ad-sdks").text_content()
    unread = page(render_run_report(make_run(tmp_path / "runs3", run_id="unread"), lang="en"))
    assert "not recorded" in unread.get_element_by_id("ad-sdks").text_content()


def test_report_says_when_the_apps_version_name_was_cut(tmp_path):
    cut = make_run(tmp_path / "a", run_id="cut", app={"version_name": "9" * 100, "version_name_truncated": True})
    text = page(render_run_report(cut, lang="en")).text_content()
    assert "9" * 60 in text and "9" * 61 not in text and "(too long, cut)" in text
    assert "过长，已截断" in page(render_run_report(cut, lang="zh-CN")).text_content()
    plain = make_run(tmp_path / "b", run_id="plain", app={"version_name": "5.2.1"})
    text = page(render_run_report(plain, lang="en")).text_content()
    assert "5.2.1" in text and "too long" not in text


def test_both_languages_have_every_ui_string():
    data = yaml.safe_load((REPO / "reports" / "strings.yaml").read_text(encoding="utf-8"))
    zh, en = data["zh-CN"], data["en"]
    assert set(zh) == set(en)
    for section in zh:
        assert set(zh[section]) == set(en[section]), section
