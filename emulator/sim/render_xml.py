"""The uiautomator XML of a screen, byte-for-byte in the format of `uiautomator dump` / u2 dumpWindowHierarchy.

Every window appears, bottom to top, as a sibling root under <hierarchy> (the multi-window dump). Text shown by the
app is hostile: it is escaped for an attribute value and characters illegal in XML 1.0 are dropped, so no text can
break the document.
"""

from __future__ import annotations

import re

from emulator.sim.view import Screen, ViewNode, Window

DECLARATION = "<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>"
PIXEL_ONLY_CLASS = "android.view.View"

# Characters XML 1.0 forbids anywhere (C0 controls except tab/newline/CR, surrogates, U+FFFE/U+FFFF).
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Attribute values: markup characters, plus whitespace that attribute normalisation would otherwise fold to spaces.
_ATTR_ESCAPES = str.maketrans({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;",
})


def escape_attr(value: str) -> str:
    """`value` made safe for a double-quoted XML attribute."""
    return _ILLEGAL_XML.sub("", value).translate(_ATTR_ESCAPES)


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _open_tag(node: ViewNode, index: int, package: str) -> str:
    x1, y1, x2, y2 = node.bounds
    blind = node.pixel_only
    # Attribute order is exactly that of AccessibilityNodeInfoDumper; parsers in the wild rely on it.
    return (
        f'<node index="{index}"'
        f' text="{"" if blind else escape_attr(node.text)}"'
        f' resource-id="{"" if blind else escape_attr(node.resource_id)}"'
        f' class="{PIXEL_ONLY_CLASS if blind else escape_attr(node.cls)}"'
        f' package="{escape_attr(node.package or package)}"'
        f' content-desc="{"" if blind else escape_attr(node.content_desc)}"'
        f' checkable="{_flag(node.checkable)}" checked="{_flag(node.checked)}"'
        f' clickable="{_flag(node.clickable)}" enabled="{_flag(node.enabled)}"'
        f' focusable="{_flag(node.focusable)}" focused="{_flag(node.focused)}"'
        f' scrollable="{_flag(node.scrollable)}" long-clickable="{_flag(node.long_clickable)}"'
        f' password="{_flag(node.password)}" selected="{_flag(node.selected)}"'
        f' bounds="[{x1},{y1}][{x2},{y2}]"'
    )


def _write_node(out: list[str], node: ViewNode, index: int, package: str, depth: int, max_depth: int) -> None:
    out.append(_open_tag(node, index, package))
    children = [] if node.pixel_only or depth >= max_depth else node.children
    if not children:
        out.append(" />")
        return
    out.append(">")
    for child_index, child in enumerate(children):
        _write_node(out, child, child_index, package, depth + 1, max_depth)
    out.append("</node>")


def render_window(out: list[str], window: Window, max_depth: int = 1000) -> None:
    # Each window root is dumped with index 0, as the u2 server's multi-window dump does.
    _write_node(out, window.root, 0, window.package, 1, max_depth)


def render_xml(screen: Screen, max_depth: int = 1000) -> str:
    """The hierarchy dump of `screen`. `max_depth` counts node levels below <hierarchy> (u2 passes 50)."""
    if not screen.windows:
        return DECLARATION + '<hierarchy rotation="0" />'
    out = [DECLARATION, '<hierarchy rotation="0">']
    for window in screen.windows:
        render_window(out, window, max_depth)
    out.append("</hierarchy>")
    return "".join(out)
