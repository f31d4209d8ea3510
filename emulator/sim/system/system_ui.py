"""The system's own screens as view trees: the launcher, Settings' app-info page, the crash and ANR dialogs.

Node keys are the system's handles for taps: "launch:<pkg>", "force_stop", "close", "app_info", "wait", ...
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml

from emulator.sim.view import Style, ViewNode, Window

LAUNCHER = "com.android.launcher3"
SETTINGS = "com.android.settings"
APP_INFO_ACTIVITY = "com.android.settings.applications.InstalledAppDetails"
STATUS_BAR = 48
NAV_BAR = 96
MAX_LABEL = 40  # app labels are hostile data: bounded before they reach a screen


@lru_cache(maxsize=4)
def strings(locale: str) -> dict:
    table = yaml.safe_load(resources.files(__package__).joinpath("system_ui.yaml").read_text("utf-8"))
    return table.get(locale) or table["en-US"]


def _label(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


@dataclass(frozen=True)
class LauncherIcon:
    package: str
    label: str


def launcher_window(icons: list[LauncherIcon], width: int, height: int, locale: str) -> Window:
    s = strings(locale)
    cols, cell_w, cell_h = 4, width // 4, 220
    children: list[ViewNode] = [
        ViewNode(cls="android.widget.TextView", bounds=(40, STATUS_BAR + 40, width - 40, STATUS_BAR + 136),
                 text=s["launcher_search"], resource_id=f"{LAUNCHER}:id/search_container_workspace", clickable=True,
                 key="search", style=Style(background="#ffffff", color="#5f6368", radius=48, size=34))
    ]
    top = STATUS_BAR + 200
    for i, icon in enumerate(icons):
        x = (i % cols) * cell_w
        y = top + (i // cols) * cell_h
        label = _label(icon.label)
        children.append(ViewNode(
            cls="android.widget.TextView", bounds=(x, y, x + cell_w, y + cell_h), text=label, content_desc=label,
            resource_id=f"{LAUNCHER}:id/icon", clickable=True, long_clickable=True, focusable=True,
            key=f"launch:{icon.package}", style=Style(align="center", color="#ffffff", size=26)))
        children.append(ViewNode(
            cls="android.widget.ImageView", bounds=(x + cell_w // 2 - 56, y + 20, x + cell_w // 2 + 56, y + 132),
            style=Style(icon="logo", background=_icon_colour(icon.package), radius=28)))
    root = ViewNode(
        bounds=(0, 0, width, height), resource_id=f"{LAUNCHER}:id/launcher",
        children=[ViewNode(cls="android.view.ViewGroup", bounds=(0, 0, width, height),
                           resource_id=f"{LAUNCHER}:id/workspace", scrollable=True, children=children)],
        style=Style(background="#3c4a5c"))
    return Window(LAUNCHER, "com.android.launcher3.uioverrides.QuickstepLauncher", root, title="Launcher")


def _icon_colour(package: str) -> str:
    import zlib

    palette = ["#1a73e8", "#d93025", "#188038", "#f9ab00", "#a142f4", "#12b5cb", "#e8710a", "#5f6368"]
    return palette[zlib.crc32(package.encode()) % len(palette)]


def app_info_window(label: str, package: str, version: str, allowed_groups: list[str], width: int, height: int,
                    locale: str) -> Window:
    s = strings(locale)
    rid = f"{SETTINGS}:id/"
    group_names = [s["groups"].get(g, g) for g in allowed_groups]
    summary = s["permissions_allowed"].format(groups="、".join(group_names) if locale == "zh-CN"
                                              else ", ".join(group_names)) if group_names else s["permissions_none"]
    y = STATUS_BAR
    nodes = [
        ViewNode(cls="android.widget.ImageButton", bounds=(0, y, 112, y + 112), content_desc="向上导航"
                 if locale == "zh-CN" else "Navigate up", clickable=True, key="back", style=Style(icon="back")),
        ViewNode(cls="android.widget.TextView", bounds=(130, y + 20, width - 20, y + 92), text=s["app_info_title"],
                 style=Style(size=40)),
        ViewNode(cls="android.widget.TextView", bounds=(0, y + 260, width, y + 330), text=_label(label),
                 resource_id=f"{rid}entity_header_title", style=Style(align="center", size=40, bold=True)),
        ViewNode(cls="android.widget.TextView", bounds=(0, y + 330, width, y + 380),
                 text=s["version"].format(version=_label(version)), resource_id=f"{rid}entity_header_summary",
                 style=Style(align="center", color="#5f6368", size=28)),
        ViewNode(cls="android.widget.Button", bounds=(40, y + 420, width // 3 - 10, y + 560), text=s["open"],
                 resource_id=f"{rid}button1", clickable=True, key="open", style=Style(align="center")),
        ViewNode(cls="android.widget.Button", bounds=(width // 3 + 10, y + 420, 2 * width // 3 - 10, y + 560),
                 text=s["uninstall"], resource_id=f"{rid}button2", clickable=True, key="uninstall",
                 style=Style(align="center")),
        ViewNode(cls="android.widget.Button", bounds=(2 * width // 3 + 10, y + 420, width - 40, y + 560),
                 text=s["force_stop"], resource_id=f"{rid}button3", clickable=True, key="force_stop",
                 style=Style(align="center")),
    ]
    rows = [("notifications", s["notifications"], ""), ("permissions", s["permissions"], summary),
            ("storage", s["storage"], "")]
    y += 600
    for key, title, sub in rows:
        row = ViewNode(cls="android.widget.LinearLayout", bounds=(0, y, width, y + 150), clickable=True, key=key,
                       children=[ViewNode(cls="android.widget.TextView", bounds=(40, y + 20, width - 40, y + 80),
                                          text=title, resource_id="android:id/title", style=Style(size=34))])
        if sub:
            row.children.append(ViewNode(cls="android.widget.TextView", bounds=(40, y + 80, width - 40, y + 130),
                                         text=sub, resource_id="android:id/summary",
                                         style=Style(color="#5f6368", size=28)))
        nodes.append(row)
        y += 150
    root = ViewNode(bounds=(0, 0, width, height), resource_id="android:id/content", children=nodes,
                    style=Style(background="#ffffff"))
    return Window(SETTINGS, APP_INFO_ACTIVITY, root, title="AppInfo")


def error_dialog(kind: str, label: str, package: str, width: int, height: int, locale: str) -> Window:
    """kind 'crash' ("keeps stopping": App info / Close app) or 'anr' ("isn't responding": Close app / Wait)."""
    s = strings(locale)
    title = (s["crash_title"] if kind == "crash" else s["anr_title"]).format(label=_label(label))
    left, right = 60, width - 60
    top = height // 2 - 200
    buttons = [("app_info", "aerr_app_info", s["app_info"]), ("close", "aerr_close", s["close_app"])]
    if kind == "anr":
        buttons = [("close", "aerr_close", s["close_app"]), ("wait", "aerr_wait", s["wait"])]
    nodes = [ViewNode(cls="android.widget.TextView", bounds=(left + 40, top + 40, right - 40, top + 150), text=title,
                      resource_id="android:id/alertTitle", style=Style(size=36))]
    y = top + 170
    for key, rid, text in buttons:
        nodes.append(ViewNode(cls="android.widget.Button", bounds=(left, y, right, y + 110), text=text,
                              resource_id=f"android:id/{rid}", clickable=True, focusable=True, key=key,
                              style=Style(color="#1a73e8", size=32)))
        y += 110
    panel = ViewNode(cls="android.widget.FrameLayout", bounds=(left, top, right, y + 20),
                     resource_id="android:id/parentPanel", children=nodes,
                     style=Style(background="#ffffff", radius=24))
    root = ViewNode(bounds=(left, top, right, y + 20), children=[panel])
    name = "Application Error" if kind == "crash" else "Application Not Responding"
    return Window("android", "", root, dim_behind=True, modal=True, title=f"{name}: {package}")
