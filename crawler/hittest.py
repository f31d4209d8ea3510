"""Where a tap lands: the node at a point of a parsed hierarchy, as Android dispatches the touch.

Windows are listed bottom to top and the topmost window containing the point receives it (a dialog's empty area
swallows the tap; it does not reach the page below). Inside a window, children are tried last-drawn first, and the
deepest enabled clickable node under the point takes it. So a widget covered by a higher window, or by an overlay drawn
after it, is not what a tap at its centre hits. A toast is the exception: Android shows it FLAG_NOT_TOUCHABLE, so
touches pass through it to the window below.
"""

from __future__ import annotations

from crawler.screen import Hierarchy, Widget, Window

MAX_VISITS = 20_000
# Toast.makeText inflates AOSP's transient_notification layout: its text is a TextView with this id
TOAST_TEXT_ID = "android:id/message"
TOAST_MIN_TOP = 0.6  # a toast sits in the lower part of the screen; a ProgressDialog (same message id) is centred


def _inside(b: tuple[int, int, int, int], x: int, y: int) -> bool:
    return b[0] <= x < b[2] and b[1] <= y < b[3]


def _hit(node: Widget, x: int, y: int, budget: list[int]) -> Widget | None:
    budget[0] -= 1
    if budget[0] < 0:
        return None
    for child in reversed(node.children):
        if child.area > 0 and _inside(child.bounds, x, y):
            found = _hit(child, x, y, budget)
            if found is not None:
                return found
    if (node.clickable or node.long_clickable) and node.enabled:
        return node
    return None


def is_toast(window: Window, screen_bottom: int) -> bool:
    """A window that takes no touches: a toast's message in the lower part of the screen and nothing interactive."""
    nodes = list(window.widgets())
    if len(nodes) > 8 or window.bounds[1] < TOAST_MIN_TOP * screen_bottom:
        return False
    if any(n.clickable or n.long_clickable or n.focusable or n.scrollable or n.checkable for n in nodes):
        return False
    return any(n.resource_id == TOAST_TEXT_ID for n in nodes)


def window_at(hierarchy: Hierarchy, x: int, y: int) -> Window | None:
    """The topmost window whose bounds hold the point and that takes touches (not a toast)."""
    bottom = max([hierarchy.screen[3], *(w.bounds[3] for w in hierarchy.windows)])
    return next((w for w in reversed(hierarchy.windows) if _inside(w.bounds, x, y) and not is_toast(w, bottom)),
                None)


def node_at(hierarchy: Hierarchy, x: int, y: int) -> tuple[Window | None, Widget | None]:
    """(window, node) a tap at (x, y) reaches: node None when the window takes the tap with nothing clickable there."""
    window = window_at(hierarchy, x, y)
    if window is None:
        return None, None
    return window, _hit(window.root, x, y, [MAX_VISITS])


def reaches(hierarchy: Hierarchy, w: Widget) -> bool:
    """A tap at the centre of `w` reaches `w` (or a clickable inside it), not a window or an overlay above it."""
    x, y = (w.bounds[0] + w.bounds[2]) // 2, (w.bounds[1] + w.bounds[3]) // 2
    _, hit = node_at(hierarchy, x, y)
    if hit is None:
        return False
    node: Widget | None = hit
    while node is not None:
        if node is w:
            return True
        node = node.parent
    return False


def describe_hit(hierarchy: Hierarchy, x: int, y: int) -> dict:
    """What the trace records of the node a tap at (x, y) reached (bounded text)."""
    window, hit = node_at(hierarchy, x, y)
    data: dict = {"point": [x, y], "window": window.index if window is not None else None,
                  "window_package": window.package[:200] if window is not None else ""}
    if hit is not None:
        data.update({"bounds": list(hit.bounds), "text": hit.inner_label()[:200], "resource_id": hit.resource_id[:200],
                     "class": hit.cls[:120], "package": hit.package[:200]})
    return data
