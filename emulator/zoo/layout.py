"""Screens and dialogs of a zoo app as ViewNode trees that look like the real apps they imitate.

The screen is 720x1600 with the system's 48 px status bar on top; the app draws below it. Every node stays inside
the screen, and within one window no two clickable nodes overlap (a tap has one meaning). Every clickable node has
a `key`; `Layout.targets` says what a tap on that key means, so the runtime never parses keys.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import yaml

from emulator.sim.view import Style, ViewNode, Window
from emulator.zoo import model as m

WIDTH, HEIGHT = 720, 1600
STATUS_BAR = 48
TOOLBAR = 112
TAB_BAR = 120
MARGIN = 24
GAP = 16
MAX_CONTENT = 20000  # px of content a screen can hold (below the fold it scrolls)
SCROLL_KEY = "__scroll"
LIST_CLASSES = ("androidx.recyclerview.widget.RecyclerView", "android.widget.ListView")
MAX_MESSAGE_LINES = 14  # long policy texts are cut (a real dialog scrolls them)


@lru_cache(maxsize=2)
def framework_strings(locale: str) -> dict:
    table = yaml.safe_load(resources.files(__package__).joinpath("strings.yaml").read_text("utf-8"))
    return table.get(locale) or table["en-US"]


@dataclass(frozen=True)
class Target:
    """What a tap on a key means."""

    kind: str  # actions | back | toggle | close | skip | input
    actions: tuple = ()  # the model actions to run
    dialog: str = ""  # the dialog the node belongs to ("" = the screen)
    ref: str = ""  # the state key of a toggle / input


@dataclass
class ViewState:
    """The bits of runtime state the layout shows."""

    now: float = 0.0
    texts: dict[str, str] = field(default_factory=dict)  # input key -> typed text
    checked: dict[str, bool] = field(default_factory=dict)  # checkbox / switch key -> checked
    dialog_shown_at: dict[str, float] = field(default_factory=dict)  # dialog name -> time it appeared
    scales: dict[str, float] = field(default_factory=dict)  # zoom key -> current scale
    focus: str = ""  # the key of the focused input
    scroll: dict[str, int] = field(default_factory=dict)  # screen name -> scroll offset in px
    max_scroll: dict[str, int] = field(default_factory=dict)  # screen name -> the largest offset (from layout)


@dataclass
class Layout:
    window: Window
    targets: dict[str, Target]


# ------------------------------------------------------------------------------------------------- text metrics


def text_width(text: str, size: int) -> int:
    """Approximate pixel width: CJK glyphs are square, Latin ones about half as wide."""
    return int(sum(size if ord(ch) > 0x2E80 else size * 0.56 for ch in text))


def wrap_lines(text: str, size: int, width: int) -> int:
    lines = 0
    for para in text.split("\n") or [""]:
        lines += max(1, math.ceil(text_width(para, size) / max(width, 1)))
    return lines


def fit(text: str, size: int, width: int) -> str:
    """One line that fits `width`, with an ellipsis when cut."""
    text = " ".join(text.split())
    if text_width(text, size) <= width:
        return text
    while text and text_width(text + "…", size) > width:
        text = text[:-1]
    return text + "…"


def clip_lines(text: str, size: int, width: int, max_lines: int) -> str:
    out, used = [], 0
    for para in text.split("\n"):
        need = max(1, math.ceil(text_width(para, size) / max(width, 1)))
        if used + need > max_lines:
            room = max_lines - used
            if room > 0:
                chars = max(1, int(len(para) * room / need) - 1)
                out.append(para[:chars] + "…")
            break
        out.append(para)
        used += need
    return "\n".join(out)


# ------------------------------------------------------------------------------------------------- builder


class _Builder:
    """Shared by screen and dialog layout: resource ids, keys and targets."""

    def __init__(self, app: m.AppModel, owner: str, dialog: str = "") -> None:
        self.app = app
        self.package = app.app.package
        self.theme = app.app.theme
        self.s = framework_strings(app.app.locale)
        self.owner = owner  # screen or dialog name, the key prefix
        self.dialog = dialog
        self.targets: dict[str, Target] = {}

    def rid(self, name: str | None) -> str:
        if name and name.startswith("android:"):
            return f"android:id/{name[len('android:'):]}"
        return f"{self.package}:id/{name}" if name else ""

    def key(self, *parts: str) -> str:
        return "/".join([self.owner, *parts])

    def target(self, key: str, kind: str, actions=(), ref: str = "") -> str:
        self.targets[key] = Target(kind, tuple(actions or ()), self.dialog, ref)
        return key

    def text(self, bounds, text: str, size: int = 28, color: str | None = None, bold: bool = False,
             align: str = "left", rid: str = "", **kw) -> ViewNode:
        return ViewNode(cls="android.widget.TextView", bounds=bounds, text=text, resource_id=rid,
                        style=Style(color=color or self.theme.text, size=size, bold=bold, align=align), **kw)


# ------------------------------------------------------------------------------------------------- screens


def screen_layout(app: m.AppModel, name: str, state: ViewState) -> Layout:
    screen = app.screens[name]
    b = _Builder(app, name)
    theme = b.theme
    top, bottom = STATUS_BAR, HEIGHT
    page: list[ViewNode] = []
    if screen.toolbar:
        page.append(_toolbar(b, screen.toolbar, top))
        top += TOOLBAR
    if screen.tabs:
        page.append(_tab_bar(b, screen.tabs, name, HEIGHT - TAB_BAR))
        bottom -= TAB_BAR
    # The content is laid out whole, then shifted by the screen's scroll offset and clipped to the viewport: what
    # is above or below it is not in the hierarchy (as uiautomator sees a ScrollView / RecyclerView).
    body, _ = _content(b, screen.content, top, top + MAX_CONTENT, state)
    end = max((n.bounds[3] for n in body), default=top) + GAP
    max_scroll = max(0, end - bottom)
    offset = min(max(0, state.scroll.get(name, 0)), max_scroll)
    state.scroll[name] = offset
    state.max_scroll[name] = max_scroll
    scroll_key = b.target(b.key(SCROLL_KEY), "scroll")
    body = [n for n in (_shift_clip(node, -offset, top, bottom, scroll_key) for node in body) if n is not None]
    scroll = ViewNode(cls="android.widget.ScrollView", bounds=(0, top, WIDTH, bottom), resource_id=b.rid("scroll_view"),
                      scrollable=max_scroll > 0, focusable=max_scroll > 0, children=body,
                      key=scroll_key if max_scroll > 0 else "")
    page.insert(1 if screen.toolbar else 0, scroll)
    background = screen.background or theme.background
    container = ViewNode(cls="android.widget.LinearLayout", bounds=(0, STATUS_BAR, WIDTH, HEIGHT),
                         resource_id=b.rid("root_layout"), children=page, style=Style(background=background),
                         pixel_only=screen.pixel_only)
    content = ViewNode(cls="android.widget.FrameLayout", bounds=(0, STATUS_BAR, WIDTH, HEIGHT),
                       resource_id="android:id/content", children=[container])
    root = ViewNode(cls="android.widget.FrameLayout", bounds=(0, 0, WIDTH, HEIGHT), children=[content],
                    style=Style(background=background))
    activity = absolute_activity(b.package, screen.activity)
    return Layout(Window(b.package, activity, root, title=activity, secure=screen.secure), b.targets)


def _shift_clip(node: ViewNode, dy: int, top: int, bottom: int, scroll_key: str) -> ViewNode | None:
    """Move a laid-out node by dy and clip it to [top, bottom); None when nothing of it is visible. A list taller
    than what is visible of it scrolls (it shares the screen's scroll)."""
    x1, y1, x2, y2 = node.bounds
    y1, y2 = y1 + dy, y2 + dy
    if y2 <= top or y1 >= bottom:
        return None
    if node.cls in LIST_CLASSES and (y1 < top or y2 > bottom) and node.children:
        node.scrollable = True
        node.key = node.key or scroll_key
    node.bounds = (x1, max(y1, top), x2, min(y2, bottom))
    node.children = [c for c in (_shift_clip(child, dy, top, bottom, scroll_key) for child in node.children)
                     if c is not None]
    return node


def absolute_activity(package: str, activity: str) -> str:
    return package + activity if activity.startswith(".") else activity


def _toolbar(b: _Builder, bar: m.Toolbar, y: int) -> ViewNode:
    theme = b.theme
    children: list[ViewNode] = []
    x = 0
    if bar.back:
        key = b.target(b.key("toolbar", "back"), "back")
        children.append(ViewNode(cls="android.widget.ImageButton", bounds=(0, y, TOOLBAR, y + TOOLBAR),
                                 content_desc=b.s["navigate_up"], clickable=True, focusable=True, key=key,
                                 style=Style(icon="back", color=theme.on_primary)))
        x = TOOLBAR
    right = WIDTH
    for action in reversed(bar.actions):
        w = 96 if action.icon else max(96, text_width(action.text, 28) + 40)
        right -= w
        key = b.target(b.key("toolbar", action.id), "actions", action.on_tap)
        desc = b.s["icons"].get(action.icon or "", "")
        glyph = []
        if action.icon:
            cx, cy = right + w // 2, y + TOOLBAR // 2
            glyph = [ViewNode(cls="android.widget.ImageView", bounds=(cx - 22, cy - 22, cx + 22, cy + 22),
                              style=Style(icon=_glyph(action.icon), color=theme.on_primary, border=theme.on_primary,
                                          radius=22))]
        children.append(ViewNode(
            cls="android.widget.ImageButton" if action.icon else "android.widget.TextView",
            bounds=(right, y, right + w, y + TOOLBAR), text="" if action.icon else fit(action.text, 28, w - 16),
            content_desc=desc, resource_id=b.rid(action.id), clickable=True, focusable=True, key=key,
            children=glyph, style=Style(color=theme.on_primary, size=28, align="center")))
    if bar.title:
        left = x + (0 if bar.back else 32)
        children.append(b.text((left, y, max(left + 1, right - 8), y + TOOLBAR),
                               fit(bar.title, 36, right - left - 8), size=36, bold=True, color=theme.on_primary,
                               rid=b.rid("toolbar_title")))
    return ViewNode(cls="android.view.ViewGroup", bounds=(0, y, WIDTH, y + TOOLBAR), resource_id=b.rid("toolbar"),
                    children=children, style=Style(background=theme.primary))


def _glyph(icon: str | None) -> str | None:
    """The renderer draws a few glyphs; other icons become a plain outlined dot."""
    return {"close": "x", "share": "back"}.get(icon or "", None)


def _tab_bar(b: _Builder, tabs: list[m.Tab], current: str, y: int) -> ViewNode:
    w = WIDTH // len(tabs)
    children = []
    for i, tab in enumerate(tabs):
        selected = tab.goto == current
        key = b.target(b.key("tab", tab.id), "actions", [] if selected else [m.Replace(replace=tab.goto)])
        x2 = WIDTH if i == len(tabs) - 1 else (i + 1) * w
        children.append(ViewNode(
            cls="android.widget.FrameLayout", bounds=(i * w, y, x2, HEIGHT), content_desc=tab.text,
            resource_id=b.rid(tab.id), clickable=True, focusable=True, selected=selected, key=key,
            children=[ViewNode(cls="android.widget.ImageView", bounds=(i * w + w // 2 - 28, y + 14, i * w + w // 2 + 28,
                                                                           y + 70),
                               style=Style(icon="image", color=b.theme.primary if selected else "#9aa0a6")),
                      b.text((i * w, y + 72, x2, HEIGHT - 8), fit(tab.text, 24, w), size=24, align="center",
                             color=b.theme.primary if selected else "#5f6368")]))
    return ViewNode(cls="android.widget.LinearLayout", bounds=(0, y, WIDTH, HEIGHT), resource_id=b.rid("tab_bar"),
                    children=children, style=Style(background="#ffffff", border="#e0e0e0"))


def _content(b: _Builder, widgets: list, top: int, bottom: int, state: ViewState) -> tuple[list[ViewNode], bool]:
    nodes: list[ViewNode] = []
    y = top + GAP
    overflow = False
    for index, widget in enumerate(widgets):
        if y >= bottom - 40:
            overflow = True
            break
        wkey = widget.id or f"#{index}"
        node, height, cut = _widget(b, widget, wkey, y, bottom, state)
        if node is None:
            overflow = True
            break
        nodes.append(node)
        overflow = overflow or cut
        y += height + GAP
    return nodes, overflow


def _widget(b: _Builder, w, wkey: str, y: int, bottom: int, state: ViewState) -> tuple[ViewNode | None, int, bool]:
    """(node, height, cut) for one widget at y; node None when it does not fit at all."""
    theme = b.theme
    x1, x2 = MARGIN, WIDTH - MARGIN
    inner = x2 - x1
    key = b.key(wkey)
    tap = {"clickable": True, "focusable": True, "key": b.target(key, "actions", w.on_tap)} if w.on_tap else {}
    if isinstance(w, m.TextWidget):
        size, bold, color = {"title": (40, True, theme.text), "section": (30, True, theme.text),
                             "caption": (24, False, "#5f6368"), "link": (28, False, theme.primary),
                             "body": (28, False, theme.text)}[w.role]
        lines = min(wrap_lines(w.text, size, inner), 8)
        h = int(lines * size * 1.5) + 8
        if y + h > bottom:
            return None, 0, True
        text = clip_lines(w.text, size, inner, 8)
        return b.text((x1, y, x2, y + h), text, size=size, bold=bold, color=color, rid=b.rid(w.id), **tap), h, False
    if isinstance(w, m.ImageWidget):
        h = min(w.height, bottom - y)
        if h < 80:
            return None, 0, True
        colour = w.color or "#dfe3e8"
        children = [ViewNode(cls="android.widget.ImageView", bounds=(x1, y, x2, y + h), content_desc=w.text,
                             resource_id=b.rid(w.id),
                             style=Style(background=colour, radius=16, icon=None if w.text else "image"))]
        if w.text:
            children.append(b.text((x1, y + h // 2 - 40, x2, y + h // 2 + 40), fit(w.text, 44, inner), size=44,
                                   bold=True, align="center", color=_contrast(colour)))
        return ViewNode(cls="android.widget.FrameLayout", bounds=(x1, y, x2, y + h), children=children, **tap), h, \
            h < w.height
    if isinstance(w, m.BannerWidget):
        h = 150 if w.subtitle else 110
        if y + h > bottom:
            return None, 0, True
        colour = w.color or theme.accent
        kids = [b.text((x1 + 32, y + 18, x2 - 32, y + 70), fit(w.text, 34, inner - 64), size=34, bold=True,
                       color=_contrast(colour))]
        if w.subtitle:
            kids.append(b.text((x1 + 32, y + 84, x2 - 32, y + 130), fit(w.subtitle, 26, inner - 64), size=26,
                               color=_contrast(colour)))
        return ViewNode(cls="android.widget.FrameLayout", bounds=(x1, y, x2, y + h), resource_id=b.rid(w.id),
                        children=kids, style=Style(background=colour, radius=16), **tap), h, False
    if isinstance(w, m.CardWidget):
        h = 190 if w.text else 130
        if y + h > bottom:
            return None, 0, True
        value_w = text_width(w.value, 64) + 24 if w.value else 0
        kids = [b.text((x1 + 32, y + 24, x2 - 32 - value_w, y + 80), fit(w.title, 34, inner - 64 - value_w),
                       size=34, bold=True)]
        if w.text:
            kids.append(b.text((x1 + 32, y + 96, x2 - 32 - value_w, y + 166),
                               clip_lines(w.text, 26, inner - 64 - value_w, 2), size=26, color="#5f6368"))
        if w.value:
            kids.append(b.text((x2 - 32 - value_w, y + 30, x2 - 24, y + h - 30), w.value, size=64, bold=True,
                               align="right", color=theme.primary))
        return ViewNode(cls="android.widget.LinearLayout", bounds=(x1, y, x2, y + h), resource_id=b.rid(w.id),
                        children=kids, style=Style(background=theme.surface, radius=20), **tap), h, False
    if isinstance(w, m.ButtonWidget):
        h = 96
        if y + h > bottom:
            return None, 0, True
        style = {"primary": Style(background=theme.primary, color=theme.on_primary, radius=48, align="center",
                                  size=32, bold=True),
                 "secondary": Style(background=theme.surface, color=theme.primary, border=theme.primary, radius=48,
                                    align="center", size=32),
                 "text": Style(color=theme.primary, align="center", size=30)}[w.style]
        k = b.target(key, "actions", w.on_tap)
        return ViewNode(cls="android.widget.Button", bounds=(x1, y, x2, y + h), text=fit(w.text, 32, inner),
                        resource_id=b.rid(w.id), clickable=True, focusable=True, key=k, style=style), h, False
    if isinstance(w, m.InputWidget):
        h = 96
        if y + h > bottom:
            return None, 0, True
        k = b.target(key, "input", w.on_tap, ref=key)
        typed = state.texts.get(key, w.text)
        shown = typed or w.hint
        return ViewNode(cls="android.widget.EditText", bounds=(x1, y, x2, y + h), text=fit(shown, 28, inner - 48),
                        resource_id=b.rid(w.id), clickable=True, focusable=True, long_clickable=True,
                        password=w.password, key=k, focused=state.focus == key,
                        style=Style(background="#ffffff", border="#dadce0", radius=48, size=28,
                                    color=theme.text if typed else "#9aa0a6")), h, False
    if isinstance(w, m.SwitchWidget):
        h = 104
        if y + h > bottom:
            return None, 0, True
        k = b.target(key, "toggle", w.on_tap, ref=key)
        on = state.checked.get(key, w.checked)
        kids = [b.text((x1 + 8, y, x2 - 140, y + h), fit(w.text, 30, inner - 160), size=30),
                ViewNode(cls="android.widget.Switch", bounds=(x2 - 120, y + 22, x2, y + h - 22),
                         text="开启" if on and b.app.app.locale == "zh-CN" else ("ON" if on else "OFF"),
                         resource_id=b.rid(w.id), checkable=True, checked=on, clickable=True, focusable=True, key=k,
                         style=Style(background=theme.primary if on else "#bdc1c6", radius=30, color="#ffffff",
                                     size=22, align="center"))]
        return ViewNode(cls="android.widget.LinearLayout", bounds=(x1, y, x2, y + h), children=kids), h, False
    if isinstance(w, m.ListWidget):
        return _list(b, w, wkey, y, bottom)
    if isinstance(w, m.GridWidget):
        return _grid(b, w, wkey, y, bottom)
    if isinstance(w, m.ChipsWidget):
        return _chips(b, w, wkey, y, bottom)
    if isinstance(w, m.ZoomWidget):
        return _zoom(b, w, key, y, bottom, state)
    raise TypeError(f"no layout for {type(w).__name__}")


def _zoom(b: _Builder, w: m.ZoomWidget, key: str, y: int, bottom: int, state: ViewState):
    h = w.height + 80
    if y + h > bottom:
        return None, 0, True
    scale = state.scales.get(key, 1.0)
    image = ViewNode(cls="android.widget.ImageView", bounds=(MARGIN, y, WIDTH - MARGIN, y + w.height),
                     content_desc=w.text, resource_id=b.rid(w.id), clickable=True, focusable=True,
                     key=b.target(key, "zoom", w.on_tap, ref=key),
                     style=Style(background="#cfd8dc", radius=16, icon="image"))
    label = b.text((MARGIN, y + w.height + 16, WIDTH - MARGIN, y + h), f"{w.label}{scale:.2f}", size=28)
    return ViewNode(cls="android.widget.LinearLayout", bounds=(0, y, WIDTH, y + h), children=[image, label]), h, False


def _item_key(b: _Builder, wkey: str, item: m.Item, j: int, default_actions) -> str:
    key = b.key(wkey, item.id or f"#{j}")
    return b.target(key, "actions", item.on_tap if item.on_tap is not None else default_actions)


def _list(b: _Builder, w: m.ListWidget, wkey: str, y: int, bottom: int):
    row_h = {"feed": 200, "plain": 120, "settings": 104, "simple": 96}[w.style]
    x1, x2 = 0, WIDTH
    rows: list[ViewNode] = []
    cy = y
    cut = False
    for j, item in enumerate(w.items):
        if cy + row_h > bottom:
            cut = True
            break
        key = _item_key(b, wkey, item, j, w.item_on_tap)
        if w.style == "simple":  # android.R.layout.simple_list_item_1: the row is the TextView
            rows.append(b.text((x1, cy, x2, cy + row_h), fit(item.title, 30, WIDTH - 2 * MARGIN), size=30,
                               rid="android:id/text1", clickable=True, focusable=True, key=key))
            cy += row_h
            continue
        kids: list[ViewNode] = []
        left = MARGIN + 8
        if w.style == "feed":
            kids.append(ViewNode(cls="android.widget.ImageView", bounds=(WIDTH - MARGIN - 220, cy + 24,
                                                                         WIDTH - MARGIN, cy + row_h - 24),
                                 resource_id=b.rid("iv_thumb"), style=Style(background="#cfd8dc", radius=12,
                                                                             icon="image")))
            text_right = WIDTH - MARGIN - 240
            kids.append(b.text((left, cy + 24, text_right, cy + 120), clip_lines(item.title, 32, text_right - left, 2),
                               size=32, rid=b.rid("tv_title")))
            if item.subtitle:
                kids.append(b.text((left, cy + 130, text_right, cy + 176), fit(item.subtitle, 24, text_right - left),
                                   size=24, color="#80868b", rid=b.rid("tv_source")))
        else:
            right = WIDTH - MARGIN - (48 if w.style == "settings" else 0)
            has_sub = bool(item.subtitle) and w.style == "plain"
            kids.append(b.text((left, cy + (16 if has_sub else 0), right, cy + (68 if has_sub else row_h)),
                               fit(item.title, 30, right - left), size=30, rid=b.rid("tv_title")))
            if has_sub:
                kids.append(b.text((left, cy + 70, right, cy + 110), fit(item.subtitle, 24, right - left), size=24,
                                   color="#80868b", rid=b.rid("tv_subtitle")))
            if w.style == "settings":
                kids.append(ViewNode(cls="android.widget.ImageView", bounds=(right, cy + 28, right + 48, cy + 76),
                                     style=Style(icon="back", color="#9aa0a6")))
        rows.append(ViewNode(cls="android.widget.LinearLayout", bounds=(x1, cy, x2, cy + row_h),
                             resource_id=b.rid(f"{w.id}_item") if w.id else "", clickable=True, focusable=True,
                             key=key, children=kids, style=Style(background=b.theme.surface, border="#eeeeee")))
        cy += row_h
    if not rows:
        return None, 0, True
    cls = "android.widget.ListView" if w.style == "simple" else "androidx.recyclerview.widget.RecyclerView"
    node = ViewNode(cls=cls, bounds=(x1, y, x2, cy), resource_id=b.rid(w.id),
                    scrollable=cut, focusable=True, children=rows)
    return node, cy - y, cut


def _grid(b: _Builder, w: m.GridWidget, wkey: str, y: int, bottom: int):
    cell_w = (WIDTH - 2 * MARGIN) // w.columns
    cell_h = 160
    cells: list[ViewNode] = []
    rows = math.ceil(len(w.items) / w.columns)
    fitting = max(0, (bottom - y) // cell_h)
    if fitting == 0:
        return None, 0, True
    shown = min(rows, fitting)
    for j, item in enumerate(w.items[: shown * w.columns]):
        cx = MARGIN + (j % w.columns) * cell_w
        cy = y + (j // w.columns) * cell_h
        key = _item_key(b, wkey, item, j, w.item_on_tap)
        icon = ViewNode(cls="android.widget.ImageView", bounds=(cx + cell_w // 2 - 40, cy + 16, cx + cell_w // 2 + 40,
                                                                 cy + 96),
                        style=Style(background=_tint(b.package, j), radius=24, icon="image"))
        label = b.text((cx, cy + 104, cx + cell_w, cy + 148), fit(item.title, 24, cell_w - 8), size=24, align="center")
        cells.append(ViewNode(cls="android.widget.LinearLayout", bounds=(cx, cy, cx + cell_w, cy + cell_h),
                              content_desc=item.title, clickable=True, focusable=True, key=key, children=[icon, label]))
    h = shown * cell_h
    node = ViewNode(cls="androidx.recyclerview.widget.RecyclerView", bounds=(MARGIN, y, WIDTH - MARGIN, y + h),
                    resource_id=b.rid(w.id), children=cells, style=Style(background=b.theme.surface, radius=20))
    return node, h, shown < rows


def _chips(b: _Builder, w: m.ChipsWidget, wkey: str, y: int, bottom: int):
    h = 80
    if y + h > bottom:
        return None, 0, True
    x = MARGIN
    chips: list[ViewNode] = []
    cut = False
    for j, item in enumerate(w.items):
        cw = text_width(item.title, 30) + 40
        if x + cw > WIDTH - MARGIN:
            cut = True
            break
        key = _item_key(b, wkey, item, j, w.item_on_tap)
        first = j == 0
        chips.append(ViewNode(cls="android.widget.TextView", bounds=(x, y, x + cw, y + h), text=item.title,
                              clickable=True, focusable=True, selected=first, key=key,
                              style=Style(color=b.theme.primary if first else "#5f6368", size=30, bold=first,
                                          align="center")))
        x += cw + 8
    node = ViewNode(cls="android.widget.HorizontalScrollView", bounds=(0, y, WIDTH, y + h), resource_id=b.rid(w.id),
                    scrollable=cut, children=chips)
    return node, h, cut


def _tint(package: str, index: int) -> str:
    palette = ["#ffcdd2", "#c8e6c9", "#bbdefb", "#ffe0b2", "#e1bee7", "#b2ebf2", "#f0f4c3", "#d7ccc8"]
    return palette[(len(package) + index) % len(palette)]


def _contrast(colour: str) -> str:
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return "#202124" if 0.299 * r + 0.587 * g + 0.114 * b > 160 else "#ffffff"


# ------------------------------------------------------------------------------------------------- dialogs


def dialog_layout(app: m.AppModel, name: str, state: ViewState) -> Layout:
    dialog = app.dialogs[name]
    b = _Builder(app, name, dialog=name)
    if dialog.kind == "splash_ad":
        return _splash_ad(b, dialog, state)
    if dialog.kind == "ad":
        return _ad(b, dialog, state)
    return _alert(b, dialog, state)


def _dialog_window(b: _Builder, root: ViewNode, dialog: m.Dialog, dim: bool = True) -> Window:
    if dialog.pixel_only:
        for child in root.children:
            child.pixel_only = True
    return Window(b.package, "", root, dim_behind=dim, modal=True, dismiss_on_outside=dialog.cancelable,
                  title=f"{b.package}/{b.owner}")


def _alert(b: _Builder, d: m.Dialog, state: ViewState) -> Layout:
    theme = b.theme
    x1, x2 = 60, WIDTH - 60
    pad = 40
    inner = x2 - x1 - 2 * pad
    title_h = 96 if d.title else 24
    message = clip_lines(d.message, 28, inner, MAX_MESSAGE_LINES) if d.message else ""
    msg_h = int(wrap_lines(message, 28, inner) * 42) + 16 if message else 0
    links_h = 64 if d.links else 0
    check_h = 80 if d.checkbox else 0
    stacked = len(d.buttons) == 3 or (len(d.buttons) == 2 and d.kind == "consent")
    buttons_h = (len(d.buttons) * 104 + 24) if stacked else 128
    total = title_h + msg_h + links_h + check_h + buttons_h + 24
    y1 = max(STATUS_BAR + 40, (HEIGHT - total) // 2)
    y = y1
    kids: list[ViewNode] = []
    if d.title:
        kids.append(b.text((x1 + pad, y + 32, x2 - pad, y + 88), fit(d.title, 36, inner), size=36, bold=True,
                           align="center", rid=b.rid("tv_title")))
    y += title_h
    if message:
        kids.append(b.text((x1 + pad, y, x2 - pad, y + msg_h), message, size=28, color="#3c4043",
                           rid=b.rid("tv_message")))
        y += msg_h
    if d.links:
        lx = x1 + pad
        for i, link in enumerate(d.links):
            lw = min(int(text_width(link.text, 28) * 1.15) + 16, x2 - pad - lx)
            if lw <= 40:
                break
            actions = [m.Goto(goto=link.goto)] if link.goto else []
            key = b.target(b.key("link", str(i)), "actions", actions)
            kids.append(b.text((lx, y + 8, lx + lw, y + 56), fit(link.text, 28, lw), size=28, color=theme.primary,
                               rid=b.rid("tv_link"), clickable=True, focusable=True, key=key))
            lx += lw + 8
        y += links_h
    if d.checkbox:
        ck = b.key("checkbox")
        checked = state.checked.get(ck, d.checkbox.checked)
        key = b.target(ck, "toggle", ref=ck)
        kids.append(ViewNode(cls="android.widget.CheckBox", bounds=(x1 + pad, y + 8, x2 - pad, y + 72),
                             text=fit(d.checkbox.text, 26, inner - 56), resource_id=b.rid("cb_agree"), checkable=True,
                             checked=checked, clickable=True, focusable=True, key=key,
                             style=Style(size=26, color="#3c4043")))
        y += check_h
    y += 8
    if stacked:
        order = sorted(d.buttons, key=lambda btn: not btn.primary)
        for btn in order:
            kids.append(_dialog_button(b, btn, (x1 + pad, y + 8, x2 - pad, y + 96), full=True))
            y += 104
        y += 24
    else:
        n = len(d.buttons)
        bw = (inner - (n - 1) * 24) // n
        order = sorted(d.buttons, key=lambda btn: btn.primary)  # the primary one on the right, as CN apps do
        for i, btn in enumerate(order):
            bx = x1 + pad + i * (bw + 24)
            kids.append(_dialog_button(b, btn, (bx, y + 16, bx + bw, y + 104), full=False))
        y += 128
    y2 = min(HEIGHT - 40, y + 16)
    card = ViewNode(cls="android.widget.LinearLayout", bounds=(x1, y1, x2, y2), resource_id=b.rid("dialog_root"),
                    children=kids, style=Style(background=theme.surface, radius=24))
    root = ViewNode(cls="android.widget.FrameLayout", bounds=(x1, y1, x2, y2), children=[card])
    return Layout(_dialog_window(b, root, d), b.targets)


def _dialog_button(b: _Builder, btn: m.DialogButton, bounds, full: bool) -> ViewNode:
    theme = b.theme
    key = b.target(b.key(btn.id), "actions", btn.on_tap)
    if btn.primary:
        style = Style(background=theme.primary, color=theme.on_primary, radius=44, align="center", size=30, bold=True)
    else:
        style = Style(background=None if full else "#f1f3f4", color="#5f6368", radius=44, align="center", size=30)
    width = bounds[2] - bounds[0]
    return ViewNode(cls="android.widget.Button", bounds=bounds, text=fit(btn.text, 30, width - 16),
                    resource_id=b.rid(btn.id), clickable=True, focusable=True, key=key, style=style)


def _remaining(after: float, dialog: str, state: ViewState) -> int:
    shown = state.dialog_shown_at.get(dialog, state.now)
    return max(0, math.ceil(after - (state.now - shown) - 1e-9))


def _ad(b: _Builder, d: m.Dialog, state: ViewState) -> Layout:
    x1, x2 = 80, WIDTH - 80
    y1, y2 = 360, 1080
    kids: list[ViewNode] = []
    kids.append(ViewNode(cls="android.widget.ImageView", bounds=(x1, y1, x2, y2), content_desc=d.title,
                         resource_id=b.rid("iv_ad_image"), style=Style(background=b.theme.accent, radius=24)))
    if d.title:
        kids.append(b.text((x1 + 32, y1 + 60, x2 - 32, y1 + 130), fit(d.title, 40, x2 - x1 - 64), size=40, bold=True,
                           align="center", color="#ffffff", rid=b.rid("tv_ad_title")))
    if d.image:
        kids.append(b.text((x1 + 32, y1 + 220, x2 - 32, y1 + 420), clip_lines(d.image, 52, x2 - x1 - 64, 3), size=52,
                           bold=True, align="center", color="#ffffff"))
    label = d.label if d.label is not None else b.s["ad"]
    if label:
        kids.append(b.text((x1 + 16, y2 - 56, x1 + 96, y2 - 16), fit(label, 22, 80), size=22, color="#ffffff",
                           rid=b.rid("tv_ad_label")))
    if d.cta:
        key = b.target(b.key(d.cta.id), "actions", d.cta.on_tap)
        kids.append(ViewNode(cls="android.widget.Button", bounds=(x1 + 80, y2 - 180, x2 - 80, y2 - 84),
                             text=fit(d.cta.text, 32, x2 - x1 - 180), resource_id=b.rid(d.cta.id), clickable=True,
                             focusable=True, key=key,
                             style=Style(background="#ffffff", color=b.theme.accent, radius=48, align="center",
                                         size=32, bold=True)))
    if d.close:
        c = d.close
        if c.position == "below":
            cb = (WIDTH // 2 - 40, y2 + 48, WIDTH // 2 + 40, y2 + 128)
        else:
            cb = (x2 - 72, y1 + 8, x2 - 8, y1 + 72)
        left = _remaining(c.after, b.owner, state)
        if left > 0:
            if c.countdown == "label":
                kids.append(b.text(cb, b.s["seconds"].format(n=left), size=26, align="center", color="#ffffff",
                                   rid=b.rid("tv_countdown")))
        else:
            key = b.target(b.key("close"), "close", c.on_tap)
            text = b.s["close"] if c.style == "text" else ""
            kids.append(ViewNode(cls="android.widget.ImageView" if c.style == "x" else "android.widget.TextView",
                                 bounds=cb, text=text, content_desc=b.s["close"], resource_id=b.rid("iv_close"),
                                 clickable=True, focusable=True, key=key,
                                 style=Style(icon="x" if c.style == "x" else None, color="#ffffff",
                                             border="#ffffff", radius=40, size=26, align="center")))
    root = ViewNode(cls="android.widget.FrameLayout", bounds=(0, 0, WIDTH, HEIGHT), children=[
        ViewNode(cls="android.widget.FrameLayout", bounds=(0, STATUS_BAR, WIDTH, HEIGHT),
                 resource_id=b.rid("ad_container"), children=kids)])
    return Layout(_dialog_window(b, root, d), b.targets)


def _splash_ad(b: _Builder, d: m.Dialog, state: ViewState) -> Layout:
    theme = b.theme
    brand_h = 220
    img_bottom = HEIGHT - brand_h
    kids: list[ViewNode] = [
        ViewNode(cls="android.widget.ImageView", bounds=(0, STATUS_BAR, WIDTH, img_bottom),
                 resource_id=b.rid("splash_ad_image"), style=Style(background=theme.accent)),
    ]
    if d.title:
        kids.append(b.text((48, 300, WIDTH - 48, 380), fit(d.title, 44, WIDTH - 96), size=44, bold=True,
                           align="center", color="#ffffff"))
    if d.image:
        kids.append(b.text((48, 520, WIDTH - 48, 760), clip_lines(d.image, 60, WIDTH - 96, 3), size=60, bold=True,
                           align="center", color="#ffffff"))
    label = d.label if d.label is not None else b.s["ad"]
    if label:
        kids.append(b.text((24, img_bottom - 64, 104, img_bottom - 24), fit(label, 22, 80), size=22, color="#ffffff",
                           rid=b.rid("tv_ad_label")))
    if d.cta:
        key = b.target(b.key(d.cta.id), "actions", d.cta.on_tap)
        kids.append(ViewNode(cls="android.widget.Button", bounds=(100, img_bottom - 220, WIDTH - 100,
                                                                  img_bottom - 120),
                             text=fit(d.cta.text, 30, WIDTH - 240), resource_id=b.rid(d.cta.id), clickable=True,
                             focusable=True, key=key,
                             style=Style(background="#333333", color="#ffffff", border="#ffffff", radius=50,
                                         align="center", size=30)))
    if d.skip:
        s = d.skip
        left_total = _remaining(d.duration, b.owner, state)
        gated = _remaining(s.after, b.owner, state)
        text = s.text or b.s["skip"]
        if s.show_seconds:
            text = f"{text} {gated if gated > 0 else left_total}"
        live = gated == 0
        key = b.target(b.key("skip"), "skip" if s.works else "actions") if live else ""
        skip_box = (WIDTH - 180, STATUS_BAR + 32, WIDTH - 32, STATUS_BAR + 96)
        pill = Style(background="#555555", color="#ffffff" if live else "#bbbbbb", radius=32, size=26, align="center")
        if s.textless:
            # A bare clickable frame; the label is a drawn child, blind in the hierarchy.
            label = ViewNode(cls="android.widget.TextView", bounds=skip_box, text=text, pixel_only=True,
                             style=Style(color=pill.color, size=26, align="center"))
            kids.append(ViewNode(cls="android.widget.FrameLayout", bounds=skip_box, resource_id=b.rid(s.id or "tv_skip"),
                                 clickable=live, focusable=live, enabled=live, key=key, children=[label],
                                 style=Style(background="#555555", radius=32)))
        else:
            kids.append(ViewNode(cls="android.widget.TextView", bounds=skip_box, text=text,
                                 resource_id=b.rid(s.id or "tv_skip"), clickable=live, focusable=live, enabled=live,
                                 key=key, style=pill))
    kids.append(ViewNode(cls="android.widget.ImageView", bounds=(WIDTH // 2 - 56, img_bottom + 40, WIDTH // 2 + 56,
                                                                 img_bottom + 152),
                         style=Style(icon="logo", background=theme.primary, radius=28)))
    kids.append(b.text((WIDTH // 2 + 72, img_bottom + 70, WIDTH - 24, img_bottom + 130),
                       fit(b.app.app.label, 32, WIDTH // 2 - 96), size=32, bold=True))
    root = ViewNode(cls="android.widget.FrameLayout", bounds=(0, 0, WIDTH, HEIGHT), children=[
        ViewNode(cls="android.widget.FrameLayout", bounds=(0, STATUS_BAR, WIDTH, HEIGHT),
                 resource_id=b.rid("splash_container"), children=kids, style=Style(background="#ffffff"))])
    return Layout(_dialog_window(b, root, d, dim=False), b.targets)


# ------------------------------------------------------------------------------------------------- toast


def toast_window(package: str, text: str) -> Window:
    text = " ".join(text.split())[:80]
    w = min(WIDTH - 80, text_width(text, 28) + 64)
    x1 = (WIDTH - w) // 2
    lines = min(2, wrap_lines(text, 28, w - 48))  # a toast wraps to two lines, as Android's does
    node = ViewNode(cls="android.widget.TextView", bounds=(x1, HEIGHT - 220 - 42 * lines, x1 + w, HEIGHT - 180),
                    text=clip_lines(text, 28, w - 48, 2), resource_id="android:id/message",  # as Toast.makeText's
                    style=Style(background="#3c4043", color="#ffffff", radius=40, size=28, align="center"))
    root = ViewNode(cls="android.widget.FrameLayout", bounds=node.bounds, children=[node])
    return Window(package, "", root, title="Toast")
