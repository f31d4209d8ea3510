"""A parsed uiautomator hierarchy: widgets, windows, bounds, tappable targets.

The dump comes from the device, and its text from the app under test: it is hostile input. The bytes are decoded
first, whatever their encoding (byte order mark, UTF-16/32 without one, EBCDIC, a declared legacy encoding), and a
DOCTYPE or any other markup declaration in the decoded text is refused; lxml then parses exactly that text, as UTF-8,
with entities, DTDs, network access and huge trees disabled. Input size, nesting depth, children and attributes per
node and the node count are bounded, and parsing is linear in the input; every string attribute is cut to a bounded
length; every error is one line.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from lxml import etree

from crawler.errors import UserError
from crawler.text_safety import SCREEN_TEXT_LIMIT

MAX_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 200
MAX_NODES = 50_000
MAX_CHILDREN = 5_000  # children of one node
MAX_ATTRIBUTES = 64  # attributes of one node (uiautomator writes about 20)
MAX_TEXT = SCREEN_TEXT_LIMIT  # characters kept of any text / content-desc / resource-id
DEFAULT_SCREEN = (0, 0, 720, 1600)

Bounds = tuple[int, int, int, int]


class BadHierarchy(UserError, ValueError):
    """The hierarchy dump is empty, truncated, malformed, hostile or too large."""


_SPACES = re.compile(r"\s+")


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


def _widget(attrib, depth: int, parent: Widget | None) -> Widget:
    """A Widget from the attributes it needs, read one by one (`attrib` has at most MAX_ATTRIBUTES of them)."""
    get = (attrib if type(attrib) is dict else dict(attrib)).get  # lxml's Mapping.get raises KeyError per miss: slow
    try:
        index = int((get("index") or "0")[:12])
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
        bounds=parse_bounds(get("bounds") or ""),
        depth=depth,
        parent=parent,
    )


def one_line(text: str, limit: int = 300) -> str:
    """A message for a one-line error: every control, format and line-breaking character (NUL, CR, LF, NEL, U+2028,
    an EBCDIC newline decoded...) becomes a space, whitespace runs collapse, cut to `limit` characters."""
    text = "".join(" " if not ch.isprintable() else ch for ch in str(text)[: limit * 4])
    return _SPACES.sub(" ", text).strip()[:limit]


# -- decoding: the bytes are turned into text first, the way an XML processor reads them (XML 1.0 appendix F), so
# that what is checked for declarations is exactly what lxml then parses (re-encoded as UTF-8, the encoding forced).
_BOMS = (
    (b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe\x00\x00", "utf-32-le"), (b"\xef\xbb\xbf", "utf-8"),
    (b"\xfe\xff", "utf-16-be"), (b"\xff\xfe", "utf-16-le"),
)
_NO_BOM = (  # the first four bytes of "<?xm" (or of "<" and a character) in each encoding family
    (b"\x00\x00\x00\x3c", "utf-32-be"), (b"\x3c\x00\x00\x00", "utf-32-le"),
    (b"\x00\x3c\x00\x3f", "utf-16-be"), (b"\x3c\x00\x3f\x00", "utf-16-le"),
    (b"\x4c\x6f\xa7\x94", "cp037"),  # EBCDIC: the declaration names the exact code page
)
_ENCODING_DECL = re.compile(r"""\A<\?xml\s[^>]*?\bencoding\s*=\s*(["'])(.*?)\1""", re.DOTALL)
_XML_DECL = re.compile(r"\A<\?xml\s[^>]*\?>")
_NOT_TEXT_CODECS = {"unicode-escape", "raw-unicode-escape", "idna", "punycode", "utf-7", "undefined"}
_UNICODE_FAMILIES = {"utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"}
# After decoding: any markup declaration. In well-formed XML a literal "<!" is always markup; only comments and CDATA
# sections are allowed through (a "<!DOCTYPE" written inside a comment is refused too: nothing legitimate does that).
_MARKUP_DECL = re.compile(r"<!(?!--|\[CDATA\[)")


def _codec(name: str):
    try:
        info = codecs.lookup(name)
    except LookupError:
        info = None
    if info is None or not getattr(info, "_is_text_encoding", True) or info.name in _NOT_TEXT_CODECS:
        raise BadHierarchy(f"hierarchy declares an unsupported encoding {one_line(name, 40)!r}")
    return info


def decode_xml(data: bytes) -> str:
    """The text of an XML document: encoding from the byte order mark, else from the first bytes and the encoding
    declaration (UTF-8 when there is none), decoded strictly. Raises BadHierarchy."""
    family, skip = None, 0
    for bom, name in _BOMS:
        if data.startswith(bom):
            family, skip = name, len(bom)
            break
    if family is None:
        family = next((name for head, name in _NO_BOM if data.startswith(head)), "utf-8")
        if family == "utf-8" and len(data) >= 4:  # UTF-16 without BOM or declaration: "<", then "h"...
            if data[0] == 0x3C and data[1] == 0 and data[2] != 0 and data[3] == 0:
                family = "utf-16-le"
            elif data[0] == 0 and data[1] == 0x3C and data[2] == 0 and data[3] != 0:
                family = "utf-16-be"
    # Read the declaration in the family's encoding (ASCII-compatible, UTF-16/32, or EBCDIC) to learn the name.
    head = data[skip: skip + 1024]
    try:
        start = head.decode(family, "ignore") if family != "utf-8" else head.decode("latin-1")
    except (UnicodeDecodeError, LookupError):
        start = ""
    if start.startswith("<?xml") and "?>" not in start:
        raise BadHierarchy("hierarchy has an XML declaration longer than 1 KB or not closed")
    declared = _ENCODING_DECL.match(start)
    codec = family
    if declared:
        name = declared.group(2)
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9._-]{0,39}", name):
            raise BadHierarchy(f"hierarchy declares an invalid encoding name {one_line(name, 40)!r}")
        info = _codec(name)
        if family == "utf-8" and skip == 0:  # ASCII-compatible bytes: UTF-8 or a legacy encoding (latin-1, GBK...)
            if info.name in _UNICODE_FAMILIES and info.name != "utf-8":
                raise BadHierarchy(f"hierarchy declares {one_line(name, 40)} but its bytes are ASCII-compatible")
            codec = info.name
        elif family == "cp037":  # EBCDIC: the declaration names the code page (cp500, cp037, cp1140...)
            codec = info.name
        # else a byte order mark or UTF-16/32 bytes decide; the name only had to be a real encoding
    try:
        text = data[skip:].decode(codec)
    except UnicodeDecodeError as exc:
        raise BadHierarchy(f"hierarchy is not valid {codec}: {one_line(exc.reason, 80)} at byte {exc.start + skip}") \
            from None
    if declared and not text.startswith("<?xml"):
        raise BadHierarchy(f"hierarchy declares {one_line(declared.group(2), 40)} but is not encoded so")
    return text


# A start tag with more than MAX_ATTRIBUTES attributes, found before libxml2 sees it (libxml2 and lxml would spend
# seconds and ~50 bytes of memory per byte of input building 700,000 attributes of an 8 MB dump only to have them
# refused). A tag cannot hold "<" and each attribute takes at least 5 characters, so only long stretches between two
# "<" are looked at, and only those with enough "=" are parsed attribute by attribute (quoted values skipped whole:
# an app's text full of '="' does not count).
_LONG_TAG = re.compile("<[^<]{" + str(5 * MAX_ATTRIBUTES) + ",}")
_MANY_ATTRIBUTES = re.compile(r"""<[^\s/>!?<]+(?:\s+[^\s=/><]+\s*=\s*(?:"[^"<]*"|'[^'<]*'))"""
                              "{" + str(MAX_ATTRIBUTES + 1) + "}")


def _refuse_many_attributes(text: str) -> None:
    if text.count("=") <= MAX_ATTRIBUTES:
        return
    for tag in _LONG_TAG.finditer(text):
        if text.count("=", tag.start(), tag.end()) > MAX_ATTRIBUTES and _MANY_ATTRIBUTES.match(text, tag.start()):
            raise BadHierarchy(f"a node has more than {MAX_ATTRIBUTES} attributes (uiautomator writes about 20)")


class _Builder:
    """An lxml parser target: widgets straight from the start/end events, in one pass, with the bounds checked as
    each node opens (no tree of lxml elements is kept; a refused dump stops the parser at once)."""

    def __init__(self) -> None:
        self.widgets: list[Widget] = []
        self.windows: list[Window] = []
        self.rotation = 0
        self.root_tag: str | None = None
        self.stack: list[Widget | None] = []  # per open element: its widget, or None (not part of the view tree)
        self.children: list[int] = []  # per open element: how many child elements so far
        self.elements = 0

    def start(self, tag, attrib) -> None:
        if len(attrib) > MAX_ATTRIBUTES:
            raise BadHierarchy(f"a node has {len(attrib)} attributes (limit {MAX_ATTRIBUTES}; uiautomator writes "
                               f"about 20)")
        depth = len(self.stack)
        if depth > MAX_DEPTH:
            raise BadHierarchy(f"hierarchy nested deeper than {MAX_DEPTH} levels")
        if self.children:
            self.children[-1] += 1
            if self.children[-1] > MAX_CHILDREN:
                raise BadHierarchy(f"a node has more than {MAX_CHILDREN} children")
        self.children.append(0)
        self.elements += 1
        if self.elements > MAX_NODES + 1:  # every element counts (foreign ones too), the <hierarchy> root aside
            raise BadHierarchy(f"hierarchy has more than {MAX_NODES} nodes")
        if self.root_tag is None:  # the root element
            self.root_tag = tag if isinstance(tag, str) else ""
            if tag == "hierarchy":
                try:
                    self.rotation = int((attrib.get("rotation") or "0")[:12])
                except ValueError:
                    self.rotation = 0
                self.stack.append(None)
                return
            if tag != "node":
                raise BadHierarchy(f"not a uiautomator dump (root element <{one_line(tag, 40)}>)")
        parent = self.stack[-1] if self.stack else None
        top = depth == 0 or (depth == 1 and self.root_tag == "hierarchy")
        if tag != "node" or (parent is None and not top):
            self.stack.append(None)  # a foreign element, or a node under one: not part of the view tree
            return
        widget = _widget(attrib, depth if self.root_tag == "hierarchy" else depth + 1, parent)
        if parent is not None:
            parent.children.append(widget)
        else:
            self.windows.append(Window(root=widget, index=len(self.windows)))
        self.widgets.append(widget)
        if len(self.widgets) > MAX_NODES:
            raise BadHierarchy(f"hierarchy has more than {MAX_NODES} nodes")
        self.stack.append(widget)

    def end(self, tag) -> None:
        self.stack.pop()
        self.children.pop()

    def close(self) -> _Builder:
        return self


def _parser(target: _Builder) -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False, remove_comments=True, remove_pis=True, recover=False, collect_ids=False,
                           encoding="utf-8", target=target)


def parse_hierarchy(xml: str | bytes) -> Hierarchy:
    """Parse a uiautomator dump. Raises BadHierarchy naming what is wrong, in one line.

    Time and memory are linear in the input: the text is decoded once, checked for declarations once, parsed once
    by libxml2 into widgets directly; a node's attributes are read one by one and their number is bounded."""
    if isinstance(xml, str):
        if len(xml) > MAX_BYTES:
            raise BadHierarchy(f"hierarchy too large ({len(xml)} characters, limit {MAX_BYTES})")
        text = xml.removeprefix("\ufeff")
    elif isinstance(xml, (bytes, bytearray, memoryview)):
        data = bytes(xml)
        if len(data) > MAX_BYTES:
            raise BadHierarchy(f"hierarchy too large ({len(data)} bytes, limit {MAX_BYTES})")
        text = decode_xml(data)
    else:
        raise BadHierarchy(f"hierarchy must be str or bytes, not {type(xml).__name__}")
    if not text.strip():
        raise BadHierarchy("empty hierarchy")
    if _MARKUP_DECL.search(text):
        raise BadHierarchy("hierarchy declares a DOCTYPE or entities (refused)")
    _refuse_many_attributes(text)
    body = _XML_DECL.sub("", text, count=1).encode("utf-8", "replace")  # lxml reads the UTF-8 we give it, nothing else
    builder = _Builder()
    try:
        etree.fromstring(body, _parser(builder))
    except etree.XMLSyntaxError as exc:
        raise BadHierarchy(f"truncated or invalid XML: {one_line(str(exc), 200)}") from None
    if builder.root_tag is None:
        raise BadHierarchy("empty hierarchy")
    windows = builder.windows
    return Hierarchy(windows=windows, widgets=builder.widgets, rotation=builder.rotation, screen=_screen_of(windows))


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
