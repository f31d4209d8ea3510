"""crawler.screen: the hardened hierarchy parser, widgets, windows, targets and text normalisation."""

from pathlib import Path

import pytest

from crawler.screen import MAX_TEXT, BadHierarchy, parse_hierarchy

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "xml"
HEAD = "<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>"


def node(inner: str = "", **attrs: str) -> str:
    base = {"index": "0", "text": "", "resource-id": "", "class": "android.widget.FrameLayout", "package": "com.x",
            "content-desc": "", "clickable": "false", "enabled": "true", "bounds": "[0,0][720,1600]"}
    base.update({k.replace("_", "-"): v for k, v in attrs.items()})
    attr = " ".join(f'{k}="{v}"' for k, v in base.items())
    return f"<node {attr}>{inner}</node>" if inner else f"<node {attr} />"


def test_widgets_carry_every_dump_attribute():
    h = parse_hierarchy((FIXTURES / "perm_aosp6_en.xml").read_bytes())
    box = h.find("do_not_ask_checkbox")[0]
    assert box.checkable and not box.checked and box.clickable and box.enabled and box.focusable
    assert box.cls == "android.widget.CheckBox" and box.package == "com.android.packageinstaller"
    assert box.resource_id == "com.android.packageinstaller:id/do_not_ask_checkbox"
    assert box.bounds == (60, 730, 660, 790) and box.label == "Never ask again"
    assert box.parent is not None and box in box.parent.children and box.depth == box.parent.depth + 1


def test_multi_window_dump_exposes_windows_with_packages():
    h = parse_hierarchy((FIXTURES / "perm_aosp6_en.xml").read_bytes())
    assert [w.package for w in h.windows] == ["com.example.maps", "com.android.packageinstaller"]
    assert h.screen == (0, 0, 720, 1600)


def test_clickable_targets_skip_disabled_offscreen_and_zero_area_and_resolve_containers():
    h = parse_hierarchy((FIXTURES / "hostile_app.xml").read_bytes())
    labels = [t.inner_label() for t in h.clickable_targets()]
    assert "off screen" not in labels and "broken bounds" not in labels
    assert all(t.enabled for t in h.clickable_targets())
    row_text = next(w for w in h.widgets if w.text == "inside a clickable row")
    container = h.target_of(row_text)
    assert container is not None and container.cls == "android.widget.LinearLayout"
    assert container in h.clickable_targets() and row_text not in h.clickable_targets()


@pytest.mark.parametrize("data, reason", [
    (b"", "empty"),
    (b"   \n", "empty"),
    (HEAD + '<hierarchy rotation="0"><node index="0" text="x"', "truncated"),
    ("<html><body/></html>", "not a uiautomator dump"),
    (HEAD + '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><hierarchy>&lol2;</hierarchy>',
     "DOCTYPE"),
    ('<?xml version="1.0"?><!DOCTYPE h SYSTEM "http://evil.example/x.dtd"><hierarchy/>', "DOCTYPE"),
    (b"\xff\xfe\x00garbage", "invalid"),
])
def test_bad_input_raises_one_clear_error(data, reason):
    with pytest.raises(BadHierarchy, match=reason):
        parse_hierarchy(data)


def test_depth_size_and_node_count_are_bounded():
    deep = node()
    for _ in range(260):
        deep = node(deep)
    with pytest.raises(BadHierarchy, match="deeper|invalid"):
        parse_hierarchy(f"<hierarchy>{deep}</hierarchy>")
    with pytest.raises(BadHierarchy, match="too large"):
        parse_hierarchy(b"<hierarchy>" + b" " * (9 * 1024 * 1024) + b"</hierarchy>")
    many = "".join(node() for _ in range(50_001))
    with pytest.raises(BadHierarchy, match="more than"):
        parse_hierarchy(f"<hierarchy>{node(many)}</hierarchy>")


def test_no_windows_is_a_valid_empty_screen():
    h = parse_hierarchy(HEAD + '<hierarchy rotation="0" />')
    assert h.windows == [] and h.widgets == [] and h.clickable_targets() == []


def test_attribute_text_is_bounded_and_bad_bounds_read_as_empty():
    h = parse_hierarchy((FIXTURES / "hostile_app.xml").read_bytes())
    assert max(len(w.text) for w in h.widgets) <= MAX_TEXT
    assert next(w for w in h.widgets if w.text == "broken bounds").bounds == (0, 0, 0, 0)
