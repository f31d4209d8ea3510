"""A parsed uiautomator hierarchy: widgets, windows, bounds, tappable targets.

The dump comes from the device, and its text from the app under test: it is hostile input. The parser is lxml with
entities, DTDs, network access and huge trees disabled; a DOCTYPE or ENTITY declaration is refused outright; input
size, nesting depth and node count are bounded; every string attribute is cut to a bounded length.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field

from lxml import etree

MAX_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 200
MAX_NODES = 50_000
MAX_TEXT = 500  # characters kept of any text / content-desc / resource-id
DEFAULT_SCREEN = (0, 0, 720, 1600)

Bounds = tuple[int, int, int, int]


class BadHierarchy(ValueError):
    """The hierarchy dump is empty, truncated, malformed, hostile or too large."""


_DECLARATIONS = re.compile(rb"<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST)", re.IGNORECASE)
_QUOTES = str.maketrans({
    "\u2019": "'", "\u2018": "'", "\u201b": "'", "\u2032": "'", "`": "'",
    "\u201c": '"', "\u201d": '"', "\u201f": '"', "\u300c": '"', "\u300d": '"', "\u300e": '"', "\u300f": '"',
    "\u00ab": '"', "\u00bb": '"',
})
_SPACES = re.compile(r"\s+")


def clean(text: str, limit: int = MAX_TEXT) -> str:
    """`text` for display and matching: NFKC, quotes unified, control and format characters dropped (no terminal
    escapes, no bidi overrides), whitespace collapsed, cut to `limit` characters. Case is kept."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text[: limit * 2]).translate(_QUOTES)
    if not text.isprintable():
        text = "".join(" " if ch in "\n\r\t" else ch for ch in text
                       if ch in "\n\r\t" or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co"))
    return _SPACES.sub(" ", text).strip()[:limit]


def normalize(text: str, limit: int = MAX_TEXT) -> str:
    """`clean(text)` casefolded: the form every matcher compares."""
    return clean(text, limit).casefold()


def parse_bounds(value: str) -> Bounds:
    """"[x1,y1][x2,y2]" -> (x1, y1, x2, y2); anything else (or absurd numbers) -> (0, 0, 0, 0)."""
    if not value or len(value) > 60 or value[0] != "[" or value[-1] != "]":
        return (0, 0, 0, 0)
    parts = value[1:-1].replace("][", ",").split(",")
    if len(parts) != 4:
        return (0, 0, 0, 0)
    try:
        x1, y1, x2, y2 = (int(p) for p in parts)
    except ValueError:
        return (0, 0, 0, 0)
    if max(abs(x1), abs(y1), abs(x2), abs(y2)) > 1_000_000:
        return (0, 0, 0, 0)
    return (x1, y1, x2, y2)


def area(b: Bounds) -> int:
    return max(0, b[2] - b[0]) * max(0, b[3] - b[1])


def intersect(a: Bounds, b: Bounds) -> Bounds:
    return (max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3]))


def contains(outer: Bounds, inner: Bounds) -> bool:
    return outer[0] <= inner[0] and outer[1] <= inner[1] and inner[2] <= outer[2] and inner[3] <= outer[3]


@dataclass(eq=False, slots=True)
class Widget:
    """One node of the dump, with every attribute uiautomator writes."""

    index: int = 0
    text: str = ""
    resource_id: str = ""
    cls: str = ""
    package: str = ""
    content_desc: str = ""
    checkable: bool = False
    checked: bool = False
    clickable: bool = False
    enabled: bool = True
    focusable: bool = False
    focused: bool = False
    scrollable: bool = False
    long_clickable: bool = False
    password: bool = False
    selected: bool = False
    bounds: Bounds = (0, 0, 0, 0)
    depth: int = 0
    parent: Widget | None = field(default=None, repr=False)
    children: list[Widget] = field(default_factory=list, repr=False)
    source: str = "hierarchy"  # "ocr" / "vision" for pseudo-widgets built from pixels

    @property
    def label(self) -> str:
        """What the widget says: its text, else its content-desc."""
        return self.text or self.content_desc

    @property
    def id_name(self) -> str:
        """The resource-id without its package prefix ("permission_deny_button")."""
        rid = self.resource_id
        return rid.split(":id/", 1)[1] if ":id/" in rid else rid

    @property
    def area(self) -> int:
        return area(self.bounds)

    def walk(self) -> Iterator[Widget]:
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))

    def ancestors(self) -> Iterator[Widget]:
        node = self.parent
        while node is not None:
            yield node
            node = node.parent

    def inner_label(self, limit: int = 120) -> str:
        """Its own label, else the first labels found inside it (a clickable container around a TextView)."""
        if self.label:
            return self.label
        parts = [w.label for w in self.walk() if w.label][:3]
        return " ".join(parts)[:limit]


@dataclass(eq=False)
class Window:
    """One top-level node of the dump: a window (the multi-window dump has several, bottom to top)."""

    root: Widget
    index: int

    @property
    def package(self) -> str:
        return self.root.package

    @property
    def bounds(self) -> Bounds:
        return self.root.bounds

    def widgets(self) -> Iterator[Widget]:
        return self.root.walk()


@dataclass(eq=False)
class Hierarchy:
    windows: list[Window]
    widgets: list[Widget]  # every node, in document order
    rotation: int = 0
    screen: Bounds = DEFAULT_SCREEN
    activity: str = ""  # the resumed activity when the dump was taken (set by whoever knows it; not in the dump)

    @classmethod
    def empty(cls, screen: Bounds = DEFAULT_SCREEN) -> Hierarchy:
        return cls(windows=[], widgets=[], screen=screen)

    @property
    def packages(self) -> list[str]:
        return [w.package for w in self.windows]

    def visible(self, w: Widget) -> bool:
        return w.area > 0 and area(intersect(w.bounds, self.screen)) > 0

    def target_of(self, w: Widget) -> Widget | None:
        """The widget a tap on `w` reaches: itself if clickable, else its nearest clickable ancestor."""
        node: Widget | None = w
        while node is not None:
            if (node.clickable or node.long_clickable) and node.enabled and self.visible(node):
                return node
            node = node.parent
        return None

    def clickable_targets(self) -> list[Widget]:
        """Clickable or long-clickable, enabled widgets with an area on screen. A text inside a clickable container
        is reached through the container, which appears once."""
        return [w for w in self.widgets if (w.clickable or w.long_clickable) and w.enabled and self.visible(w)]

    def find(self, id_name: str) -> list[Widget]:
        return [w for w in self.widgets if w.id_name == id_name]


_FLAGS = ("checkable", "checked", "clickable", "enabled", "focusable", "focused", "scrollable", "long-clickable",
          "password", "selected")


def _widget(el, depth: int, parent: Widget | None) -> Widget:
    get = dict(el.items()).get
    try:
        index = int(get("index", "0") or 0)
    except ValueError:
        index = 0
    return Widget(
        index=index,
        text=(get("text") or "")[:MAX_TEXT],
        resource_id=(get("resource-id") or "")[:MAX_TEXT],
        cls=(get("class") or "")[:MAX_TEXT],
        package=(get("package") or "")[:MAX_TEXT],
        content_desc=(get("content-desc") or "")[:MAX_TEXT],
        checkable=get("checkable") == "true",
        checked=get("checked") == "true",
        clickable=get("clickable") == "true",
        enabled=get("enabled", "true") != "false",
        focusable=get("focusable") == "true",
        focused=get("focused") == "true",
        scrollable=get("scrollable") == "true",
        long_clickable=get("long-clickable") == "true",
        password=get("password") == "true",
        selected=get("selected") == "true",
        bounds=parse_bounds(get("bounds", "")),
        depth=depth,
        parent=parent,
    )


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False, remove_comments=True, remove_pis=True, recover=False, collect_ids=False)


def parse_hierarchy(xml: str | bytes) -> Hierarchy:
    """Parse a uiautomator dump. Raises BadHierarchy naming what is wrong."""
    if isinstance(xml, str):
        if len(xml) > MAX_BYTES:
            raise BadHierarchy(f"hierarchy too large ({len(xml)} characters, limit {MAX_BYTES})")
        data = xml.encode("utf-8", "replace")
    elif isinstance(xml, (bytes, bytearray, memoryview)):
        data = bytes(xml)
    else:
        raise BadHierarchy(f"hierarchy must be str or bytes, not {type(xml).__name__}")
    if len(data) > MAX_BYTES:
        raise BadHierarchy(f"hierarchy too large ({len(data)} bytes, limit {MAX_BYTES})")
    if not data.strip():
        raise BadHierarchy("empty hierarchy")
    if _DECLARATIONS.search(data):
        raise BadHierarchy("hierarchy declares a DOCTYPE or entities (refused)")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise BadHierarchy(f"truncated or invalid XML: {str(exc)[:200]}") from None
    if root is None:
        raise BadHierarchy("empty hierarchy")
    if root.tag == "hierarchy":
        tops = [el for el in root if el.tag == "node"]
        try:
            rotation = int(root.get("rotation", "0") or 0)
        except ValueError:
            rotation = 0
    elif root.tag == "node":
        tops, rotation = [root], 0
    else:
        raise BadHierarchy(f"not a uiautomator dump (root element <{str(root.tag)[:40]}>)")

    widgets: list[Widget] = []
    windows: list[Window] = []
    for wi, top in enumerate(tops):
        made: dict = {}  # lxml element -> Widget; iter() yields document order, parents first
        for el in top.iter("node"):
            parent = made.get(el.getparent()) if el is not top else None
            if parent is None and el is not top:
                continue  # a node under a foreign element: not part of the view tree
            depth = parent.depth + 1 if parent is not None else 1
            if depth > MAX_DEPTH:
                raise BadHierarchy(f"hierarchy nested deeper than {MAX_DEPTH} levels")
            widget = _widget(el, depth, parent)
            if parent is not None:
                parent.children.append(widget)
            made[el] = widget
            widgets.append(widget)
            if len(widgets) > MAX_NODES:
                raise BadHierarchy(f"hierarchy has more than {MAX_NODES} nodes")
        windows.append(Window(root=made[top], index=wi))
    return Hierarchy(windows=windows, widgets=widgets, rotation=rotation, screen=_screen_of(windows))


def _screen_of(windows: list[Window]) -> Bounds:
    """The screen is at least the union of the window roots; a dialog-only dump still gets the default screen."""
    if not windows:
        return DEFAULT_SCREEN
    x2 = max(w.bounds[2] for w in windows)
    y2 = max(w.bounds[3] for w in windows)
    if x2 < DEFAULT_SCREEN[2] * 0.9 or y2 < DEFAULT_SCREEN[3] * 0.6:
        # A lone dialog window does not tell the screen size; assume a phone of at least the window's size.
        x2, y2 = max(x2, DEFAULT_SCREEN[2]), max(y2, DEFAULT_SCREEN[3])
    return (0, 0, x2, y2)
