"""The view tree of a simulated screen: what the app runtime and the system dialogs build, and what the renderers draw.

One tree feeds both renderers, so the uiautomator XML and the PNG screenshot always show the same screen:
- `emulator.sim.render_xml` writes the exact attribute set of a real `uiautomator dump`;
- `emulator.sim.render_png` draws it with real CJK fonts (status bar, dimmed app behind a dialog).

A node with `pixel_only=True` is drawn in the PNG (its text and children) but appears in the XML as a bare
`android.view.View` with no text, no resource-id and no children: the WebView / Flutter / game case where the
hierarchy is blind and only OCR can read the screen.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

Bounds = tuple[int, int, int, int]  # x1, y1, x2, y2 in screen pixels, as uiautomator writes [x1,y1][x2,y2]


@dataclass
class Style:
    """How a node looks in the PNG. Colours are '#rrggbb'. Only the renderer reads this."""

    background: str | None = None  # fill of the node's bounds; None = transparent
    color: str = "#202124"  # text colour
    size: int = 0  # font size in px; 0 = renderer default for the class
    bold: bool = False
    align: str = "left"  # left | center | right
    radius: int = 0  # rounded corners for backgrounds
    border: str | None = None  # outline colour
    icon: str | None = None  # a drawn glyph instead of text: "x" (close cross), "back", "check", "image", "logo"


@dataclass
class ViewNode:
    """One node of the hierarchy. Field names follow the uiautomator dump attributes."""

    cls: str = "android.widget.FrameLayout"
    bounds: Bounds = (0, 0, 0, 0)
    text: str = ""
    resource_id: str = ""
    content_desc: str = ""
    package: str = ""  # filled from the window when empty
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
    children: list[ViewNode] = field(default_factory=list)
    style: Style = field(default_factory=Style)
    pixel_only: bool = False  # drawn in the PNG, blind in the XML (see module doc)
    key: str = ""  # the runtime's handle for this node (which widget was tapped); never rendered

    def walk(self) -> Iterator[ViewNode]:
        yield self
        for child in self.children:
            yield from child.walk()

    def contains(self, x: float, y: float) -> bool:
        x1, y1, x2, y2 = self.bounds
        return x1 <= x < x2 and y1 <= y < y2


@dataclass
class Window:
    """A window on screen, bottom to top in `Screen.windows`.

    `dim_behind` darkens everything below it (a dialog). `modal` windows take all taps: a tap outside the
    window's nodes does nothing (or dismisses it, by the owner's choice: `dismiss_on_outside`).
    """

    package: str
    activity: str  # the component's class name, for dumpsys; "" for a non-activity window
    root: ViewNode
    dim_behind: bool = False
    modal: bool = False
    dismiss_on_outside: bool = False
    title: str = ""  # window title for dumpsys window (e.g. "PermissionDialog")
    secure: bool = False  # FLAG_SECURE: screenshots of the screen come out black (banking, payment pages)


@dataclass
class Screen:
    """Everything visible: the windows bottom to top, and the display geometry."""

    width: int
    height: int
    windows: list[Window]
    status_bar_height: int = 0  # drawn by render_png; uiautomator dumps do not show SystemUI here
    clock_text: str = "09:41"  # status bar clock, from the device's virtual clock

    def hit(self, x: float, y: float) -> tuple[Window, ViewNode] | None:
        """The topmost clickable node under (x, y), honouring modal windows."""
        for window in reversed(self.windows):
            found = None
            for node in window.root.walk():
                if node.clickable and node.enabled and node.contains(x, y):
                    found = node  # deepest clickable wins (later in walk order = deeper or later sibling)
            if found is not None:
                return window, found
            if window.modal:
                return None
        return None
