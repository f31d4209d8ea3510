"""Permission-dialog skins of real ROMs: which package shows the runtime-permission dialog, with which
resource-ids, strings and buttons, per Android version and vendor.

The facts live in `emulator/sim/skins/<name>.yaml` (built from ../shared/reference/permission_dialogs.json); this module
loads them and lays a dialog out as a `Window`. Facts the reference marks uncertain are listed in each skin's
`uncertain` list and kept as given.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from crawler.errors import UserError
from emulator.sim.view import Style, ViewNode, Window

SKIN_DIR = Path(__file__).with_name("skins")
LOCALES = ("zh-CN", "en-US")
LOCALE_ALIASES = {"zh": "zh-CN", "zh-cn": "zh-CN", "zh_cn": "zh-CN", "en": "en-US", "en-us": "en-US", "en_us": "en-US"}
CONTROL_KEYS = ("allow", "allow_foreground", "allow_once", "allow_always", "deny", "deny_dont_ask", "dont_ask_checkbox")
# Keys whose button is the "say yes" action a ROM highlights when it has a primary colour.
PRIMARY_KEYS = ("allow_foreground", "allow", "allow_always")
WINDOW_TITLE = "PermissionDialog"


class SkinError(UserError, ValueError):
    """A skin name, locale or permission group that does not exist; the message names the input and the choices."""


class UnknownSkin(SkinError):
    pass


@dataclass
class Skin:
    name: str
    package: str
    activity: str
    sdk: int
    android_version: str
    rom: str
    props: dict[str, str]
    id_prefix: str
    deny_dont_ask_on_second: bool
    uncertain: list[str]
    description: str
    all_caps: bool = False
    layout: dict = field(default_factory=dict)
    titles: dict[str, dict[str, str]] = field(default_factory=dict)
    foreground_groups: list[str] = field(default_factory=list)
    buttons: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    controls: dict[str, dict] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)

    @property
    def groups(self) -> list[str]:
        return list(self.titles[LOCALES[0]])

    def resource_id(self, short_or_full: str | None) -> str:
        if not short_or_full:
            return ""
        return short_or_full if ":" in short_or_full else self.id_prefix + short_or_full

    def button_keys(self, group: str, request_index: int) -> list[str]:
        """The controls shown for `group` on its `request_index`-th request (1 = first)."""
        if group in self.buttons:
            chosen = self.buttons[group]
        elif group in self.foreground_groups and "foreground" in self.buttons:
            chosen = self.buttons["foreground"]
        else:
            chosen = self.buttons["default"]
        return list(chosen["repeat" if request_index >= 2 else "first"])

    def control_text(self, key: str, locale: str) -> str:
        text = self.controls[key]["text"][locale]
        return text.upper() if self.all_caps else text  # textAllCaps: the accessibility text is upper-case

    def title(self, group: str, locale: str, app_label: str) -> str:
        return self.titles[locale][group].replace("%1$s", app_label)


def skin_names() -> list[str]:
    return sorted(path.stem for path in SKIN_DIR.glob("*.yaml"))


@functools.cache
def load_skin(name: str) -> Skin:
    names = skin_names()
    if name not in names:
        raise UnknownSkin(f"unknown skin {name!r}: choose one of {', '.join(names)}")
    data = yaml.safe_load((SKIN_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
    data["props"] = {key: str(value) for key, value in data["props"].items()}
    return Skin(**data)


def normalise_locale(locale: str) -> str:
    if locale in LOCALES:
        return locale
    found = LOCALE_ALIASES.get(locale.lower())
    if found is None:
        raise SkinError(f"unknown locale {locale!r}: choose one of {', '.join(LOCALES)}")
    return found


# ---------------------------------------------------------------- layout

@dataclass
class _Metrics:
    """Pixel sizes at xhdpi (density 320: 1 dp = 2 px)."""

    margin: int = 48
    pad: int = 48
    icon: int = 72
    gap: int = 24
    title_size: int = 34
    label_size: int = 26
    button_size: int = 30
    button_h: int = 96
    line: float = 1.35


def _text_height(text: str, size: int, width: int, line: float) -> int:
    """A fast estimate of wrapped text height (wide characters ~1 em, others ~0.55 em)."""
    em = sum(1.0 if ord(ch) >= 0x2E80 else 0.55 for ch in text) * size
    lines = max(1, int(em // max(1, width - 24)) + 1)
    return int(lines * size * line) + 8


def _button(skin: Skin, key: str, locale: str, bounds: tuple[int, int, int, int], primary: bool) -> ViewNode:
    colors = skin.layout["colors"]
    background = colors.get("primary_bg") if primary and colors.get("primary_bg") else colors.get("button_bg")
    color = colors.get("primary_text") if primary and colors.get("primary_text") else colors["button_text"]
    return ViewNode(
        cls="android.widget.Button", bounds=bounds, text=skin.control_text(key, locale),
        resource_id=skin.resource_id(skin.controls[key]["id"]), package=skin.package, clickable=True, focusable=True,
        key=key,
        style=Style(background=background, color=color, size=_Metrics.button_size, bold=True, align="center",
                    radius=(bounds[3] - bounds[1]) // 2 if background else 0),
    )


def _checkbox(skin: Skin, locale: str, bounds: tuple[int, int, int, int]) -> ViewNode:
    return ViewNode(
        cls="android.widget.CheckBox", bounds=bounds, text=skin.control_text("dont_ask_checkbox", locale),
        resource_id=skin.resource_id(skin.controls["dont_ask_checkbox"]["id"]), package=skin.package,
        checkable=True, clickable=True, focusable=True, key="dont_ask_checkbox",
        style=Style(color=skin.layout["colors"]["text"], size=28),
    )


def permission_dialog(skin: Skin, locale: str, app_label: str, group: str, request_index: int,
                      screen_size: tuple[int, int]) -> Window:
    """The system's runtime-permission dialog for `group`, as this ROM draws it, over the requesting app."""
    locale = normalise_locale(locale)
    if group not in skin.titles[locale]:
        raise SkinError(f"unknown permission group {group!r} for skin {skin.name}: choose one of "
                        f"{', '.join(skin.titles[locale])}")
    layout, colors, m = skin.layout, skin.layout["colors"], _Metrics()
    width, height = screen_size
    left, right = m.margin, width - m.margin
    inner_left, inner_right = left + m.pad, right - m.pad
    inner_w = inner_right - inner_left
    keys = skin.button_keys(group, request_index)
    checkbox = "dont_ask_checkbox" in keys
    button_keys = [key for key in keys if key != "dont_ask_checkbox"]
    sheet = layout["kind"] == "sheet"
    primary_key = next((key for key in PRIMARY_KEYS if key in button_keys), None)

    # Measure top to bottom, then place the card (centred or at the bottom).
    title = skin.title(group, locale, app_label)
    title_h = _text_height(title, m.title_size, inner_w, m.line)
    parts: list[tuple[str, int]] = []
    if layout.get("icon"):
        parts.append(("icon", m.icon))
    parts.append(("title", title_h))
    if layout.get("app_label_line"):
        parts.append(("label", int(m.label_size * m.line) + 8))
    if checkbox:
        parts.append(("checkbox", 72))
    if layout["buttons"] == "row":
        parts.append(("row", m.button_h))
    else:
        parts.extend(("button", m.button_h) for _ in button_keys)
    content_h = sum(h for _, h in parts) + m.gap * (len(parts) - 1)
    card_h = content_h + 2 * m.pad
    if layout["position"] == "bottom":
        bottom = height - (0 if sheet else m.margin)
        top = bottom - card_h
        if sheet:
            left, right = 0, width
    else:
        top = (height - card_h) // 2
        bottom = top + card_h

    children: list[ViewNode] = []
    y = top + m.pad
    for part, h in parts:
        if part == "icon":
            cx = (left + right) // 2
            children.append(ViewNode(cls="android.widget.ImageView", bounds=(cx - m.icon // 2, y, cx + m.icon // 2, y + h),
                                     resource_id=skin.resource_id(layout.get("icon_id")), package=skin.package,
                                     style=Style(icon="logo", background=colors["icon"])))
        elif part == "title":
            children.append(ViewNode(cls="android.widget.TextView", bounds=(inner_left, y, inner_right, y + h), text=title,
                                     resource_id=skin.resource_id(layout.get("message_id")), package=skin.package,
                                     style=Style(color=colors["text"], size=m.title_size, bold=sheet,
                                                 align="center" if sheet or layout.get("icon") else "left")))
        elif part == "label":
            children.append(ViewNode(cls="android.widget.TextView", bounds=(inner_left, y, inner_right, y + h),
                                     text=app_label, resource_id=skin.resource_id(layout.get("app_label_id")),
                                     package=skin.package, style=Style(color="#8a8a8a", size=m.label_size,
                                                                       align="center")))
        elif part == "checkbox":
            children.append(_checkbox(skin, locale, (inner_left, y, inner_right, y + h)))
        elif part == "row":
            slot = inner_w // max(1, len(button_keys))
            for i, key in enumerate(button_keys):
                bounds = (inner_left + i * slot, y, inner_left + (i + 1) * slot, y + h)
                children.append(_button(skin, key, locale, bounds, key == primary_key))
        elif part == "button":
            key = button_keys[sum(1 for child in children if child.cls == "android.widget.Button")]
            children.append(_button(skin, key, locale, (inner_left, y, inner_right, y + h), key == primary_key))
        y += h + m.gap

    container = ViewNode(cls="android.widget.LinearLayout", bounds=(left, top, right, bottom),
                         resource_id=skin.resource_id(layout.get("container_id")), package=skin.package,
                         children=children,
                         style=Style(background=colors["card"], radius=layout.get("radius", 0)))
    root = ViewNode(cls="android.widget.FrameLayout", bounds=(left, top, right, bottom), package=skin.package,
                    children=[container])
    return Window(package=skin.package, activity=skin.activity, root=root, dim_behind=True, modal=True,
                  title=WINDOW_TITLE)

