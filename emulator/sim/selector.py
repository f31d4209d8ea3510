"""UiSelector matching over a simulated screen, as the uiautomator2 server does it.

The client sends u2's `Selector` dict: the fields it set, a `mask` of which fields are set, and the parallel lists
`childOrSibling` ("child" | "sibling") and `childOrSiblingSelector` for chained selectors. Matching sees the screen as
the accessibility tree does: a `pixel_only` node is a bare android.view.View with no text and no children.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from emulator.sim.render_xml import PIXEL_ONLY_CLASS
from emulator.sim.view import Bounds, Screen, ViewNode

# u2 _selector.Selector field masks
MASKS = {
    "text": 0x01, "textContains": 0x02, "textMatches": 0x04, "textStartsWith": 0x08,
    "className": 0x10, "classNameMatches": 0x20,
    "description": 0x40, "descriptionContains": 0x80, "descriptionMatches": 0x0100, "descriptionStartsWith": 0x0200,
    "checkable": 0x0400, "checked": 0x0800, "clickable": 0x1000, "longClickable": 0x2000, "scrollable": 0x4000,
    "enabled": 0x8000, "focusable": 0x010000, "focused": 0x020000, "selected": 0x040000,
    "packageName": 0x080000, "packageNameMatches": 0x100000, "resourceId": 0x200000, "resourceIdMatches": 0x400000,
    "index": 0x800000, "instance": 0x01000000,
}
BOOLEAN_FIELDS = {
    "checkable": "checkable", "checked": "checked", "clickable": "clickable", "longClickable": "long_clickable",
    "scrollable": "scrollable", "enabled": "enabled", "focusable": "focusable", "focused": "focused",
    "selected": "selected",
}
STRUCTURE_KEYS = ("mask", "childOrSibling", "childOrSiblingSelector")


class SelectorError(ValueError):
    """A selector the agent cannot evaluate (bad regex, unknown field)."""


@dataclass(eq=False)
class Element:
    """A node as the accessibility tree sees it, with its place in the tree."""

    node: ViewNode
    package: str
    index: int  # position among its siblings
    parent: Element | None
    order: int  # document order over all windows

    @property
    def blind(self) -> bool:
        return self.node.pixel_only

    @property
    def text(self) -> str:
        return "" if self.blind else self.node.text

    @property
    def description(self) -> str:
        return "" if self.blind else self.node.content_desc

    @property
    def class_name(self) -> str:
        return PIXEL_ONLY_CLASS if self.blind else self.node.cls

    @property
    def resource_id(self) -> str:
        return "" if self.blind else self.node.resource_id

    @property
    def package_name(self) -> str:
        return self.node.package or self.package

    def children(self, tree: Tree) -> list[Element]:
        return tree.children.get(self.order, [])


class Tree:
    """All windows' nodes in document order (bottom window first), with parent/child links."""

    def __init__(self, screen: Screen) -> None:
        self.screen = screen
        self.elements: list[Element] = []
        self.children: dict[int, list[Element]] = {}
        for window in screen.windows:
            self._add(window.root, window.package, 0, None)

    def _add(self, node: ViewNode, package: str, index: int, parent: Element | None) -> None:
        element = Element(node, package, index, parent, len(self.elements))
        self.elements.append(element)
        if parent is not None:
            self.children.setdefault(parent.order, []).append(element)
        if not node.pixel_only:  # the hierarchy is blind inside pixel-only views
            for child_index, child in enumerate(node.children):
                self._add(child, package, child_index, element)

    def descendants(self, element: Element) -> list[Element]:
        found: list[Element] = []
        stack = list(reversed(element.children(self)))
        while stack:
            current = stack.pop()
            found.append(current)
            stack.extend(reversed(current.children(self)))
        return found

    def visible_bounds(self, element: Element) -> Bounds:
        x1, y1, x2, y2 = element.node.bounds
        w, h = self.screen.width, self.screen.height
        return max(0, min(x1, w)), max(0, min(y1, h)), max(0, min(x2, w)), max(0, min(y2, h))


def _regex(pattern: str, value: str) -> bool:
    try:
        return re.fullmatch(pattern, value) is not None  # Java String.matches: the whole value
    except re.error as error:
        raise SelectorError(f"bad regular expression {pattern!r}: {error}") from error


# UiSelector's string fields: which element attribute each one reads, and how it compares (Java semantics).
STRING_FIELDS = {
    "text": ("text", "equals"), "textContains": ("text", "contains"), "textMatches": ("text", "matches"),
    "textStartsWith": ("text", "startsWith"),
    "className": ("class_name", "equals"), "classNameMatches": ("class_name", "matches"),
    "description": ("description", "equals"), "descriptionContains": ("description", "contains"),
    "descriptionMatches": ("description", "matches"), "descriptionStartsWith": ("description", "startsWith"),
    "packageName": ("package_name", "equals"), "packageNameMatches": ("package_name", "matches"),
    "resourceId": ("resource_id", "equals"), "resourceIdMatches": ("resource_id", "matches"),
}
COMPARISONS = {
    "equals": lambda have, want: have == want,
    "contains": lambda have, want: want in have,
    "matches": lambda have, want: _regex(want, have),
    "startsWith": lambda have, want: have.startswith(want),
}


def _fields(selector: dict) -> dict:
    """The fields set in a u2 selector: by mask when present (u2 always sends one), else every known key."""
    mask = selector.get("mask")
    fields = {}
    for key, value in selector.items():
        if key in STRUCTURE_KEYS:
            continue
        if key not in MASKS:
            raise SelectorError(f"unknown selector field {key!r}")
        if mask is None or mask & MASKS[key]:
            fields[key] = value
    return fields


def _matches(element: Element, fields: dict) -> bool:
    for key, want in fields.items():
        if key == "instance":
            continue
        if key in BOOLEAN_FIELDS:
            if bool(getattr(element.node, BOOLEAN_FIELDS[key])) != bool(want):
                return False
            continue
        want = "" if want is None else str(want)
        if key == "index":
            ok = element.index == int(want)
        elif key in STRING_FIELDS:
            attribute, compare = STRING_FIELDS[key]
            ok = COMPARISONS[compare](getattr(element, attribute), want)
        else:
            ok = False
        if not ok:
            return False
    return True


def _pick_instance(found: list[Element], fields: dict) -> list[Element]:
    if "instance" not in fields:
        return found
    instance = int(fields["instance"])
    return found[instance:instance + 1] if 0 <= instance < len(found) else []


def find_all(tree: Tree, selector: dict) -> list[Element]:
    """Every element `selector` matches, in document order (an `instance` narrows it to one)."""
    fields = _fields(selector)
    found = _pick_instance([e for e in tree.elements if _matches(e, fields)], fields)
    relations = selector.get("childOrSibling") or []
    subselectors = selector.get("childOrSiblingSelector") or []
    for relation, sub in zip(relations, subselectors, strict=False):
        sub_fields = _fields(sub)
        pool: dict[int, Element] = {}
        for element in found:
            if relation == "child":
                candidates = tree.descendants(element)
            elif relation == "sibling":
                parent = element.parent
                candidates = [] if parent is None else [c for c in parent.children(tree) if c is not element]
            else:
                raise SelectorError(f"unknown selector relation {relation!r}: expected child or sibling")
            for candidate in candidates:
                if _matches(candidate, sub_fields):
                    pool[candidate.order] = candidate
        found = _pick_instance([pool[order] for order in sorted(pool)], sub_fields)
    return found


def find(tree: Tree, selector: dict) -> Element | None:
    found = find_all(tree, selector)
    return found[0] if found else None


def describe(selector: dict) -> str:
    """UiSelector[TEXT=..., CLASS=...] as uiautomator prints it in UiObjectNotFoundException."""
    parts = [f"{key.upper()}={value}" for key, value in _fields(selector).items()]
    for relation, sub in zip(selector.get("childOrSibling") or [], selector.get("childOrSiblingSelector") or [],
                             strict=False):
        parts.append(f"{relation.upper()}={describe(sub)}")
    return "UiSelector[" + ", ".join(parts) + "]"
