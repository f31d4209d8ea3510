"""The renderers: the uiautomator XML a real client parses, and the PNG a real OCR reads."""

from __future__ import annotations

import io
import re

from lxml import etree
from PIL import Image

from emulator.sim.render_png import render_png
from emulator.sim.render_xml import render_xml
from emulator.sim.view import Screen, Style, ViewNode, Window

ATTRIBUTE_ORDER = ["index", "text", "resource-id", "class", "package", "content-desc", "checkable", "checked",
                   "clickable", "enabled", "focusable", "focused", "scrollable", "long-clickable", "password",
                   "selected", "bounds"]


def app_window(text: str = "Hello 你好", pixel_only_text: str = "") -> Window:
    children = [
        ViewNode(cls="android.widget.TextView", bounds=(0, 48, 720, 160), text=text, resource_id="com.demo:id/title"),
        ViewNode(cls="android.widget.Button", bounds=(40, 300, 680, 400), text="OK", clickable=True, key="ok"),
    ]
    if pixel_only_text:
        children.append(ViewNode(cls="android.webkit.WebView", bounds=(0, 500, 720, 900), pixel_only=True,
                                 children=[ViewNode(cls="android.widget.TextView", bounds=(20, 520, 700, 600),
                                                    text=pixel_only_text)]))
    root = ViewNode(bounds=(0, 0, 720, 1600), style=Style(background="#ffffff"), children=children)
    return Window(package="com.demo", activity="com.demo.MainActivity", root=root)


def dialog_window() -> Window:
    card = ViewNode(bounds=(60, 600, 660, 1000), style=Style(background="#ffffff", radius=24), children=[
        ViewNode(cls="android.widget.TextView", bounds=(100, 640, 620, 760), text="允许访问位置信息吗？"),
        ViewNode(cls="android.widget.Button", bounds=(100, 800, 620, 900), text="不允许", clickable=True),
    ])
    return Window(package="com.android.permissioncontroller", activity="GrantPermissionsActivity", root=card,
                  dim_behind=True, modal=True)


def screen(*windows: Window) -> Screen:
    return Screen(width=720, height=1600, windows=list(windows), status_bar_height=48, clock_text="09:41")


def parse(xml: str) -> etree._Element:
    return etree.fromstring(xml.encode("utf-8"))


def test_xml_has_the_dump_header_and_exact_attribute_order():
    xml = render_xml(screen(app_window()))
    assert xml.startswith("<?xml version='1.0' encoding='UTF-8' standalone='yes' ?><hierarchy rotation=\"0\"><node ")
    root = parse(xml)
    nodes = root.findall(".//node")
    assert len(nodes) == 3
    for node in nodes:
        assert list(node.attrib) == ATTRIBUTE_ORDER
    title = nodes[1]
    assert title.get("text") == "Hello 你好"
    assert title.get("package") == "com.demo"  # inherited from the window
    assert title.get("bounds") == "[0,48][720,160]"
    assert nodes[2].get("index") == "1" and nodes[2].get("clickable") == "true"


def test_all_windows_appear_bottom_to_top_as_siblings():
    root = parse(render_xml(screen(app_window(), dialog_window())))
    tops = root.findall("node")
    assert [top.get("package") for top in tops] == ["com.demo", "com.android.permissioncontroller"]
    assert root.find(".//node[@text='不允许']") is not None


def test_hostile_text_stays_well_formed():
    hostile = '<script>alert("x")</script> & \x00\x01\x07\x1b \ud800 \ufffe tab\there\nline ' + "长" * 10_000
    root = parse(render_xml(screen(app_window(text=hostile))))
    text = root.findall(".//node")[1].get("text")
    assert text.startswith('<script>alert("x")</script> & ')
    assert "\x00" not in text and "\x1b" not in text and "\ufffe" not in text
    assert "tab\there\nline" in text  # whitespace survives as character references
    assert text.endswith("长" * 10_000)
    assert render_png(screen(app_window(text=hostile)))[:8] == b"\x89PNG\r\n\x1a\n"


def test_pixel_only_nodes_are_blind_in_the_xml():
    xml = render_xml(screen(app_window(pixel_only_text="秘密优惠 secret offer")))
    assert "秘密" not in xml and "secret" not in xml
    web = next(n for n in parse(xml).iter("node") if n.get("bounds") == "[0,500][720,900]")
    assert web.get("class") == "android.view.View"
    assert len(web) == 0 and web.get("text") == "" and web.get("resource-id") == ""


def test_max_depth_cuts_the_tree():
    xml = render_xml(screen(app_window()), max_depth=1)
    assert len(parse(xml).findall(".//node")) == 1


def test_png_is_screen_sized_and_deterministic():
    data = render_png(screen(app_window()))
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG" and image.size == (720, 1600)
    # a fresh but equal screen draws the same bytes
    assert render_png(screen(app_window())) == data
    assert render_png(screen(app_window(text="changed"))) != data


def test_dialog_dims_the_app_behind_it():
    plain = Image.open(io.BytesIO(render_png(screen(app_window())))).convert("RGB")
    dimmed = Image.open(io.BytesIO(render_png(screen(app_window(), dialog_window())))).convert("RGB")
    outside = (360, 1400)  # white app background, outside the dialog card
    assert plain.getpixel(outside) == (255, 255, 255)
    assert all(100 <= c <= 150 for c in dimmed.getpixel(outside))
    assert dimmed.getpixel((80, 620)) == (255, 255, 255)  # the card itself is not dimmed


def test_png_draws_text_in_dark_ink():
    image = Image.open(io.BytesIO(render_png(screen(app_window(text="Hello 你好"))))).convert("L")
    band = image.crop((0, 48, 720, 160))
    assert band.getextrema()[0] < 80  # glyphs are drawn, with good contrast on white


def test_xml_escapes_are_exact():
    xml = render_xml(screen(app_window(text='a&b<c>"d"')))
    assert 'text="a&amp;b&lt;c&gt;&quot;d&quot;"' in xml
    assert not re.search(r"&(?!amp;|lt;|gt;|quot;|#\d+;)", xml)
