"""What every detector looks at: the windows that matter, their widgets and targets, labels in matching form."""

from __future__ import annotations

from dataclasses import dataclass, field

from crawler.perceive.matching import form_of_clean
from crawler.perceive.scene import Bounds, Checkbox, Control
from crawler.screen import Hierarchy, Widget, Window, area, intersect
from crawler.text_safety import clean_screen_text

MAX_LINES = 200
MAX_LINE_CHARS = 300
BUTTON_MAX_CHARS = 40  # a clickable label longer than this is a paragraph, never a button choice
INPUT_METHOD_HINTS = ("inputmethod", "keyboard", ".ime", "input.")


def is_chrome(window: Window, screen: Bounds) -> bool:
    """Status bar, navigation bar and keyboards: never what a scene is about."""
    pkg = window.package
    if any(h in pkg for h in INPUT_METHOD_HINTS):
        return True
    if pkg == "com.android.systemui":
        # The status and navigation bars span the width at the top or bottom edge; a small systemui window floating
        # in the middle of a tall screen is a prompt, not chrome.
        x1, y1, x2, y2 = window.bounds
        height, width = y2 - y1, x2 - x1
        at_edge = y1 <= screen[1] + 4 or y2 >= screen[3] - 4
        full_width = width >= (screen[2] - screen[0]) * 0.9
        return height < (screen[3] - screen[1]) * 0.2 and at_edge and full_width
    return False


@dataclass
class ScreenContext:
    """One screen as the scene detectors read it: the windows that matter (chrome removed), their widgets, labels in
    matching form (cached)."""

    hierarchy: Hierarchy
    windows: list[Window]  # bottom to top, chrome removed (pseudo OCR window last)
    screen: Bounds
    _forms: dict[int, str] = field(default_factory=dict)
    _labels: dict[int, str] = field(default_factory=dict)
    _own: dict[int, str] = field(default_factory=dict)
    _own_text: dict[int, str] = field(default_factory=dict)
    _joined: str | None = None

    @classmethod
    def of(cls, hierarchy: Hierarchy, extra: list[Window] | None = None) -> ScreenContext:
        windows = [w for w in hierarchy.windows if not is_chrome(w, hierarchy.screen)] + list(extra or [])
        return cls(hierarchy=hierarchy, windows=windows, screen=hierarchy.screen)

    @property
    def screen_area(self) -> int:
        return max(1, area(self.screen))

    @property
    def top_package(self) -> str:
        return self.windows[-1].package if self.windows else ""

    def widgets(self, window: Window | None = None) -> list[Widget]:
        if window is not None:
            return list(window.widgets())
        return [w for win in self.windows for w in win.widgets()]

    def visible(self, w: Widget) -> bool:
        return w.area > 0 and area(intersect(w.bounds, self.screen)) > 0

    @staticmethod
    def tappable(w: Widget) -> bool:
        """Clickable in the hierarchy; an OCR line is assumed tappable (pixels do not say), yet not "clickable",
        so that it still reads as a title or a message."""
        return (w.clickable or w.long_clickable or w.source != "hierarchy") and w.enabled

    def targets(self, window: Window | None = None) -> list[Widget]:
        return [w for w in self.widgets(window) if self.tappable(w) and self.visible(w)]

    def target_of(self, w: Widget) -> Widget:
        """The clickable widget a tap on `w` reaches (itself when nothing around it is clickable)."""
        node: Widget | None = w
        while node is not None:
            if (node.clickable or node.long_clickable) and node.enabled and self.visible(node):
                return node
            node = node.parent
        return w

    def label(self, w: Widget) -> str:
        key = id(w)
        if key not in self._labels:
            self._labels[key] = self.own_text(w) if w.label else clean_screen_text(w.inner_label(), MAX_LINE_CHARS)
        return self._labels[key]

    def form(self, w: Widget) -> str:
        key = id(w)
        if key not in self._forms:
            self._forms[key] = self.own_form(w) if w.label else form_of_clean(self.label(w))
        return self._forms[key]

    def own_text(self, w: Widget) -> str:
        """The widget's own label, cleaned (cached)."""
        if not w.label:
            return ""
        key = id(w)
        text = self._own_text.get(key)
        if text is None:
            text = self._own_text[key] = clean_screen_text(w.label, MAX_LINE_CHARS)
        return text

    def own_form(self, w: Widget) -> str:
        """The widget's own label (not its children's) in matching form (cached)."""
        if not w.label:
            return ""
        key = id(w)
        form = self._own.get(key)
        if form is None:
            form = self._own[key] = form_of_clean(self.own_text(w))
        return form

    @property
    def joined(self) -> str:
        """Every label on screen in matching form, one per line: for cheap "is it anywhere?" prefilters."""
        if self._joined is None:
            self._joined = "\n".join(self.own_form(w) for w in self.widgets() if w.label)
        return self._joined

    def mentions(self, *matchers) -> bool:
        return any(m.maybe_in(self.joined) for m in matchers)

    def labelled(self, window: Window | None = None) -> list[Widget]:
        return [w for w in self.widgets(window) if w.label]

    def lines(self) -> list[str]:
        out: list[str] = []
        for w in self.widgets():
            if not w.label or not self.visible(w):
                continue
            line = self.own_text(w)
            if line and (not out or out[-1] != line):
                out.append(line)
            if len(out) >= MAX_LINES:
                break
        return out

    def in_status_bar(self, w: Widget) -> bool:
        """Its centre is in the status-bar band at the top of the screen (a clock or battery digit read from pixels is
        never a countdown)."""
        band = self.screen[1] + (self.screen[3] - self.screen[1]) * 0.035
        return (w.bounds[1] + w.bounds[3]) / 2 <= band

    def lines_within(self, bounds: Bounds, limit: int = 40) -> list[str]:
        """The visible lines whose centre lies inside `bounds` (a dialog's own text, not the page under it)."""
        out: list[str] = []
        for w in self.widgets():
            if not w.label or not self.visible(w):
                continue
            cx, cy = (w.bounds[0] + w.bounds[2]) / 2, (w.bounds[1] + w.bounds[3]) / 2
            if not (bounds[0] <= cx <= bounds[2] and bounds[1] <= cy <= bounds[3]):
                continue
            line = self.own_text(w)
            if line and line not in out:
                out.append(line)
            if len(out) >= limit:
                break
        return out

    def button_like(self, w: Widget, max_chars: int = BUTTON_MAX_CHARS) -> bool:
        """A choice a user taps: short label, not a checkbox, not holding one."""
        if w.checkable or any(c.checkable for c in w.walk()):
            return False
        form = self.form(w)
        return 0 < len(form) <= max_chars

    def window_of(self, w: Widget) -> Window | None:
        root = w
        while root.parent is not None:
            root = root.parent
        for win in self.windows:
            if win.root is root:
                return win
        return None

    def is_dialog_window(self, window: Window) -> bool:
        """A dialog's own window (smaller than the screen), or an overlay: a window stacked over another window of
        the same app, as full-screen pop-ups with a dimmed backdrop are drawn."""
        if area(window.bounds) < self.screen_area * 0.85:
            return True
        below = self.windows[: self.windows.index(window)] if window in self.windows else []
        return any(w.package == window.package for w in below)


def control(ctx: ScreenContext, w: Widget) -> Control:
    return Control(bounds=tuple(w.bounds), text=ctx.label(w)[:200], resource_id=w.resource_id, enabled=w.enabled)


def checkbox(ctx: ScreenContext, w: Widget) -> Checkbox:
    text = ctx.label(w)
    if not text and w.parent is not None:
        # The label of a bare CheckBox is usually its sibling TextView.
        text = " ".join(clean_screen_text(s.label, 120) for s in w.parent.children if s is not w and s.label)[:200]
    return Checkbox(bounds=tuple(w.bounds), text=text, checked=w.checked)


def common_ancestor(widgets: list[Widget]) -> Widget | None:
    if not widgets:
        return None
    chains = []
    for w in widgets:
        chain = [w, *w.ancestors()]
        chains.append(chain[::-1])
    common = None
    for nodes in zip(*chains):
        if all(n is nodes[0] for n in nodes):
            common = nodes[0]
        else:
            break
    return common


def union(bounds: list[Bounds]) -> Bounds | None:
    if not bounds:
        return None
    return (min(b[0] for b in bounds), min(b[1] for b in bounds), max(b[2] for b in bounds), max(b[3] for b in bounds))


def dialog_bounds(ctx: ScreenContext, widgets: list[Widget]) -> Bounds | None:
    """Where the dialog is: its window if the window is a dialog, else the smallest container of its parts."""
    widgets = [w for w in widgets if w is not None]
    if not widgets:
        return None
    window = ctx.window_of(widgets[0])
    if window is not None and ctx.is_dialog_window(window) and all(ctx.window_of(w) is window for w in widgets[1:]):
        return tuple(window.bounds)
    lca = common_ancestor(widgets)
    if lca is not None and lca.source == "hierarchy" and area(lca.bounds) < ctx.screen_area * 0.9:
        return tuple(lca.bounds)
    return union([w.bounds for w in widgets])


def choices(ctx: ScreenContext, targets: list[Widget], table, max_chars: int) -> dict[str, Widget]:
    """role -> the button-like target whose label the role table recognises; of several, the shortest label
    (a bare "同意" button rather than a "请阅读并同意后使用" line read by OCR)."""
    found: dict[str, Widget] = {}
    for w in targets:
        if not ctx.button_like(w, max_chars):
            continue
        role = table.role_of(ctx.form(w))
        if role is not None and (role not in found or len(ctx.form(w)) < len(ctx.form(found[role]))):
            found[role] = w
    return found
