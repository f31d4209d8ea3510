"""Screen formats of the corpus -> the uiautomator XML that crawler.screen.parse_hierarchy reads.

DroidBot / Humanoid state JSON (`states/state_*.json`: a flat `views` list linked by `parent` / `children`, bounds as
[[x1, y1], [x2, y2]]) and GKD snapshot JSON (`nodes` with `pid` and an `attr` block of left/top/right/bottom) both carry
one window's view tree; written out as one <node> tree under <hierarchy>, with the attributes uiautomator writes.
Attributes a format does not record are written with uiautomator's defaults (enabled="true", the rest "false").
"""

from __future__ import annotations

import json
from typing import Any
from xml.sax.saxutils import quoteattr

FLAGS = ("checkable", "checked", "clickable", "enabled", "focusable", "focused", "scrollable", "long-clickable",
         "password", "selected")


def _attrs(node: dict[str, Any], index: int) -> str:
    x1, y1, x2, y2 = node["bounds"]
    parts = [f'index="{index}"']
    for key in ("text", "resource-id", "class", "package", "content-desc"):
        parts.append(f"{key}={quoteattr(str(node.get(key) or ''))}")
    for flag in FLAGS:
        default = flag == "enabled"
        parts.append(f'{flag}="{"true" if node.get(flag, default) else "false"}"')
    parts.append(f'bounds="[{int(x1)},{int(y1)}][{int(x2)},{int(y2)}]"')
    return " ".join(parts)


def _write(nodes: list[dict[str, Any]], roots: list[int], rotation: int = 0) -> str:
    out = [f"<?xml version='1.0' encoding='UTF-8' standalone='yes' ?><hierarchy rotation=\"{rotation}\">"]
    # iterative depth-first walk: (node id, index among siblings, closing?)
    stack: list[tuple[int, int, bool]] = [(r, i, False) for i, r in reversed(list(enumerate(roots)))]
    seen: set[int] = set()
    while stack:
        nid, index, closing = stack.pop()
        if closing:
            out.append("</node>")
            continue
        if nid in seen or not (0 <= nid < len(nodes)) or nodes[nid] is None:
            continue
        seen.add(nid)
        node = nodes[nid]
        out.append(f"<node {_attrs(node, index)}>")
        stack.append((nid, index, True))
        kids = [k for k in node.get("children", []) if isinstance(k, int)]
        stack.extend((k, i, False) for i, k in reversed(list(enumerate(kids))))
    out.append("</hierarchy>")
    return "".join(out)


def droidbot_to_xml(data: bytes | str) -> str:
    """A DroidBot state JSON (its `views`) as a uiautomator dump. Views DroidBot marked invisible are kept: uiautomator
    dumps them too, with their bounds."""
    state = json.loads(data)
    views = state.get("views") or []
    nodes: list[dict[str, Any] | None] = [None] * len(views)
    for v in views:
        tid = v.get("temp_id")
        if not isinstance(tid, int) or not (0 <= tid < len(views)):
            continue
        (x1, y1), (x2, y2) = v.get("bounds") or [[0, 0], [0, 0]]
        nodes[tid] = {
            "text": v.get("text"), "resource-id": v.get("resource_id"), "class": v.get("class"),
            "package": v.get("package"), "content-desc": v.get("content_description"),
            "checkable": v.get("checkable"), "checked": v.get("checked"), "clickable": v.get("clickable"),
            "enabled": v.get("enabled", True), "focusable": v.get("focusable"), "focused": v.get("focused"),
            "scrollable": v.get("scrollable"), "long-clickable": v.get("long_clickable"),
            "password": v.get("is_password"), "selected": v.get("selected"),
            "bounds": (x1, y1, x2, y2), "children": v.get("children") or [],
        }
    roots = [v["temp_id"] for v in views if v.get("parent", -1) in (-1, None) and isinstance(v.get("temp_id"), int)]
    return _write(nodes, roots)


def gkd_to_xml(data: bytes | str) -> str:
    """A GKD snapshot JSON (its `nodes`) as a uiautomator dump, every node of the app's window under one root. GKD
    records no package per node: the snapshot's appId is written on every node; no enabled / scrollable flags: the
    defaults are written."""
    snap = json.loads(data)
    raw = snap.get("nodes") or []
    app = snap.get("appId") or ""
    nodes: list[dict[str, Any] | None] = [None] * len(raw)
    children: dict[int, list[int]] = {}
    roots: list[int] = []
    for n in raw:
        nid, pid, a = n.get("id"), n.get("pid", -1), n.get("attr") or {}
        if not isinstance(nid, int) or not (0 <= nid < len(raw)):
            continue
        nodes[nid] = {
            "text": a.get("text"), "resource-id": a.get("id"), "class": a.get("name"), "package": app,
            "content-desc": a.get("desc"), "checkable": a.get("checkable"), "checked": a.get("checked"),
            "clickable": a.get("clickable"), "enabled": True, "focusable": a.get("focusable"),
            "long-clickable": a.get("longClickable"), "selected": a.get("selected"),
            "bounds": (a.get("left", 0), a.get("top", 0), a.get("right", 0), a.get("bottom", 0)),
            "children": children.setdefault(nid, []),
        }
        if isinstance(pid, int) and pid >= 0:
            children.setdefault(pid, []).append(nid)
        else:
            roots.append(nid)
    for nid, node in enumerate(nodes):
        if node is not None:
            node["children"] = children.get(nid, [])
    return _write(nodes, roots)


def screen_size(fmt: str, data: bytes | str) -> tuple[int, int] | None:
    """(width, height) of the device screen when the format records it."""
    try:
        d = json.loads(data)
    except ValueError:
        return None
    if fmt == "droidbot_json" and d.get("width") and d.get("height"):
        return int(d["width"]), int(d["height"])
    if fmt == "gkd_json" and d.get("screenWidth") and d.get("screenHeight"):
        return int(d["screenWidth"]), int(d["screenHeight"])
    return None
