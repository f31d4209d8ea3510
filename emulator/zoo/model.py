"""The zoo app model: one YAML file declares one scenario app (see docs/zoo.md for every field with an example).

Validation has two layers: pydantic checks the shape of each field, then `check_references` checks what pydantic
cannot see (a `goto` naming a screen that does not exist, a request for a permission the manifest does not declare).
Both report through `ZooError` as one line: `<file>: <place>: <what is wrong>`.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator
from pydantic_core import PydanticCustomError

from crawler.errors import UserError
from emulator.sim.system.permissions import permission_groups


class ZooError(UserError, ValueError):
    """A zoo app file (or sim APK) is malformed. The message is one line: `<file>: <place>: <what is wrong>`."""


ID = r"^[a-z][a-z0-9_]{0,47}$"
VIEW_ID = r"^(android:)?[a-z][a-z0-9_]{0,47}$"  # `android:list` = the framework's android:id/list
COLOUR = r"^#[0-9a-fA-F]{6}$"
PACKAGE = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$"
ACTIVITY = r"^(\.|[a-z][a-z0-9_]*\.)?[A-Za-z_][A-Za-z0-9_.$]*$"
MAX_TEXT = 2000  # app text is hostile data once it reaches a screen: bounded here


@lru_cache(maxsize=1)
def finding_kinds() -> frozenset[str]:
    table = yaml.safe_load(resources.files(__package__).joinpath("finding_kinds.yaml").read_text("utf-8"))
    return frozenset(table["required"] + table["later"])


def permission_group_names() -> frozenset[str]:
    return frozenset(permission_groups().values())


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _as_text(value: Any) -> Any:
    """`value: 4.6` and `text: 2024` are text on a screen: YAML's numbers are taken as written."""
    return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


Text = Annotated[str, BeforeValidator(_as_text), Field(max_length=MAX_TEXT)]
WidgetId = Annotated[str, Field(pattern=VIEW_ID)]

# ---------------------------------------------------------------------------------------------------- actions
# An action is a one-key mapping (`goto: home`) with optional sibling keys (`request: [...]` + `on_denied: [...]`),
# or a bare word for actions without argument (`- exit`).

BARE_ACTIONS = ("exit", "crash", "anr", "background", "open_settings", "dismiss")


class Goto(Strict):
    goto: str  # push a screen (an activity start inside the app)


class Replace(Strict):
    replace: str  # finish the current screen, then start this one (splash -> home)


class Show(Strict):
    show: str  # show one of the app's dialogs


class Dismiss(Strict):
    dismiss: str | bool = True  # True = the dialog this action belongs to (or the topmost one)


class Request(Strict):
    request: list[str] = Field(min_length=1)  # Android permission names; the system shows its own dialog
    on_granted: list[Action] = []  # every requested permission granted
    on_denied: list[Action] = []  # at least one denied (including silently, when USER_FIXED)


class IfGranted(Strict):
    if_granted: str | list[str]
    then: list[Action] = []
    else_: list[Action] = Field(default=[], alias="else")


class IfPref(Strict):
    if_pref: str
    equals: Any = None  # None = the pref is set and truthy
    then: list[Action] = []
    else_: list[Action] = Field(default=[], alias="else")


class IfReason(Strict):
    if_reason: str | list[str]  # the process start reason: activity | broadcast | service | ...
    then: list[Action] = []
    else_: list[Action] = Field(default=[], alias="else")


class SetPref(Strict):
    set_pref: dict[str, str | int | float | bool | None] = Field(min_length=1)


class After(Strict):
    after: float = Field(ge=0, le=86400)
    do: list[Action] = Field(min_length=1)
    name: str = ""  # timer name for `cancel`; defaults to the action's place in the file
    while_: Literal["foreground", "always"] = Field(default="always", alias="while")


class Every(Strict):
    every: float = Field(gt=0, le=86400)
    do: list[Action] = Field(min_length=1)
    name: str = ""
    while_: Literal["foreground", "always"] = Field(default="foreground", alias="while")
    times: int | None = Field(default=None, ge=1)  # stop after this many runs; None = until the process dies


class Cancel(Strict):
    cancel: str  # a timer name


class Exit(Strict):
    exit: bool = True  # host.finish(): activities finish and the process exits


class Crash(Strict):
    crash: str | bool = True  # message of the uncaught exception


class Anr(Strict):
    anr: bool = True


class Background(Strict):
    background: bool = True  # moveTaskToBack: launcher in front, process alive


class Launch(Strict):
    launch: str = Field(pattern=PACKAGE)  # another package (associated launch)
    activity: str = ""


class OpenSettings(Strict):
    open_settings: bool = True  # Settings' app-info page for this app


class Toast(Strict):
    toast: Text


class Log(Strict):
    log: Text
    tag: str = ""


class SetText(Strict):
    set_text: str  # the id of an input on the current screen
    text: Text = ""  # the new text; with `sum_of`: the sum of those inputs' numbers (a calculator's result)
    sum_of: list[str] = []


ACTION_TYPES: dict[str, type[Strict]] = {
    "goto": Goto, "replace": Replace, "show": Show, "dismiss": Dismiss, "request": Request,
    "if_granted": IfGranted, "if_pref": IfPref, "if_reason": IfReason, "set_pref": SetPref, "after": After,
    "every": Every, "cancel": Cancel, "exit": Exit, "crash": Crash, "anr": Anr, "background": Background,
    "launch": Launch, "open_settings": OpenSettings, "toast": Toast, "log": Log, "set_text": SetText,
}


def _action_name(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return next((key for key in value if key in ACTION_TYPES), None)
    return None


def _normalise_action(value: Any) -> Any:
    if isinstance(value, str):
        if value not in BARE_ACTIONS:
            raise PydanticCustomError("unknown_action", "unknown action '{name}' (known: {known})",
                                      {"name": value[:40], "known": ", ".join(ACTION_TYPES)})
        return {value: True}
    if isinstance(value, dict):
        if _action_name(value) is None:
            keys = ", ".join(str(k)[:40] for k in value) or "nothing"
            raise PydanticCustomError("unknown_action", "unknown action '{name}' (known: {known})",
                                      {"name": keys, "known": ", ".join(ACTION_TYPES)})
        return value
    raise PydanticCustomError("action_type", "an action is a word or a mapping like 'goto: home'")


Action = Annotated[
    Annotated[
        Union[tuple(Annotated[model, Tag(name)] for name, model in ACTION_TYPES.items())],  # noqa: UP007
        Discriminator(_action_name),
    ],
    BeforeValidator(_normalise_action),
]
Actions = list[Action]

# ---------------------------------------------------------------------------------------------------- widgets


class WidgetBase(Strict):
    id: WidgetId | None = None  # resource-id `<package>:id/<id>` and a stable key; omit for id-less views
    on_tap: Actions = []


class TextWidget(WidgetBase):
    type: Literal["text"]
    text: Text
    role: Literal["title", "body", "caption", "section", "link"] = "body"


class ImageWidget(WidgetBase):
    type: Literal["image"]
    text: Text = ""  # what the picture shows (drawn on the placeholder; also its content-desc)
    height: int = Field(default=320, ge=80, le=1200)
    color: str | None = Field(default=None, pattern=COLOUR)


class BannerWidget(WidgetBase):
    type: Literal["banner"]
    text: Text
    subtitle: Text = ""
    color: str | None = Field(default=None, pattern=COLOUR)


class CardWidget(WidgetBase):
    type: Literal["card"]
    title: Text
    text: Text = ""
    value: Text = ""  # a big figure on the right: 26°, ¥ 12,480.00


class ButtonWidget(WidgetBase):
    type: Literal["button"]
    text: Text
    style: Literal["primary", "secondary", "text"] = "primary"


class InputWidget(WidgetBase):
    type: Literal["input"]
    hint: Text = ""
    text: Text = ""
    password: bool = False


class SwitchWidget(WidgetBase):
    type: Literal["switch"]
    text: Text
    checked: bool = False


class Item(Strict):
    """One row of a list or one cell of a grid; a bare string is a row with that title."""

    title: Text
    subtitle: Text = ""
    id: WidgetId | None = None
    on_tap: Actions | None = None  # None = the list's `item_on_tap`


def _items(value: Any) -> Any:
    if isinstance(value, list):
        return [{"title": v} if isinstance(v, str) else v for v in value]
    return value


Items = Annotated[list[Item], BeforeValidator(_items), Field(min_length=1, max_length=60)]


class ListWidget(WidgetBase):
    type: Literal["list"]
    items: Items
    # feed rows carry a thumbnail; simple rows are bare TextViews (android.R.layout.simple_list_item_1)
    style: Literal["feed", "plain", "settings", "simple"] = "plain"
    item_on_tap: Actions = []


class GridWidget(WidgetBase):
    type: Literal["grid"]
    items: Items
    columns: int = Field(default=4, ge=2, le=5)
    item_on_tap: Actions = []


class ChipsWidget(WidgetBase):
    type: Literal["chips"]  # a horizontal row of channel tabs: 推荐 热点 本地
    items: Items
    item_on_tap: Actions = []


class ZoomWidget(WidgetBase):
    type: Literal["zoom"]  # a pinch-to-zoom image with a "Scale: 1.00" label below it
    text: Text = ""  # the image's content-desc
    label: Text = "Scale: "  # the label's text before the scale
    min: float = Field(default=0.5, gt=0, le=1)
    max: float = Field(default=3.0, ge=1, le=20)
    height: int = Field(default=480, ge=160, le=1000)


WIDGET_TYPES = ("text", "image", "banner", "card", "button", "input", "switch", "list", "grid", "chips", "zoom")
Widget = Annotated[
    TextWidget | ImageWidget | BannerWidget | CardWidget | ButtonWidget | InputWidget | SwitchWidget | ListWidget
    | GridWidget | ChipsWidget | ZoomWidget,
    Field(discriminator="type"),
]

# ---------------------------------------------------------------------------------------------------- screens


class ToolbarAction(Strict):
    id: WidgetId
    text: Text = ""
    icon: Literal["search", "more", "share", "scan", "settings", "close"] | None = None
    on_tap: Actions = []


class Toolbar(Strict):
    title: Text = ""
    back: bool = False
    actions: list[ToolbarAction] = Field(default=[], max_length=3)


class Tab(Strict):
    id: WidgetId
    text: Text
    goto: str  # the screen this tab shows


class Screen(Strict):
    activity: str = Field(pattern=ACTIVITY)
    toolbar: Toolbar | None = None
    content: list[Widget] = []
    tabs: list[Tab] = Field(default=[], max_length=5)
    background: str | None = Field(default=None, pattern=COLOUR)
    pixel_only: bool = False  # WebView / Flutter: drawn, but the hierarchy is blind
    secure: bool = False  # FLAG_SECURE (login, payment): screenshots come out black, the hierarchy still reads
    on_enter: Actions = []  # each time the screen is started (goto / replace / launch)
    on_resume: Actions = []  # each time the app comes back to the front on this screen
    on_back: Actions | None = None  # None = pop the screen; at the bottom of the stack the system finishes the app


# ---------------------------------------------------------------------------------------------------- dialogs


class DialogButton(Strict):
    id: WidgetId
    text: Text
    primary: bool = False
    on_tap: Actions = []  # the dialog is NOT dismissed unless an action says so (`dismiss`)


class Checkbox(Strict):
    text: Text
    checked: bool = False  # checked before the user touches it (consent_prechecked)
    required: bool = True  # a primary button does nothing but toast `unchecked_toast` while unchecked
    unchecked_toast: Text = ""


class Link(Strict):
    text: Text
    goto: str | None = None  # a screen showing the policy


class Close(Strict):
    """The close control of an ad."""

    style: Literal["x", "text"] = "x"  # a round ✕ or a 关闭 / Close label
    position: Literal["top_right", "below"] = "below"
    after: float = Field(default=0, ge=0, le=600)  # close_countdown: the control is inert until N s passed
    countdown: Literal["hidden", "label"] = "label"  # while inert: absent, or a "5s" label in its place
    fake: bool = False  # tapping it does not close: it runs `on_tap` (a landing page, a store)
    on_tap: Actions = []  # runs after a real close; instead of closing for a fake one


class Skip(Strict):
    """The skip pill of a splash ad: "跳过 3"."""

    text: Text = ""  # default by locale: 跳过 / Skip
    after: float = Field(default=0, ge=0, le=600)  # inert (greyed) until N s passed: close_countdown
    works: bool = True  # False = drawn but does nothing (splash_ad_no_skip)
    show_seconds: bool = True  # "跳过 3": the seconds left of the ad
    # The SDK's skip node carries no text: its label is drawn only (as Pangle's tt_splash_skip_btn), under `id`
    textless: bool = False
    id: WidgetId | None = None  # resource-id name of the skip node; None = tv_skip


class Dialog(Strict):
    kind: Literal["consent", "rationale", "alert", "ad", "splash_ad"]
    title: Text = ""
    message: Text = ""
    links: list[Link] = []
    checkbox: Checkbox | None = None
    buttons: list[DialogButton] = Field(default=[], max_length=3)
    cancelable: bool = False  # back / a tap outside dismisses it
    pixel_only: bool = False
    on_back: Actions | None = None  # None = dismiss if cancelable, else swallow the key
    # ads
    image: Text = ""  # the creative's text: 新人专享 1元购
    cta: DialogButton | None = None  # the call to action on the creative
    close: Close | None = None  # None = no close control at all
    skip: Skip | None = None  # splash_ad only; None = no skip pill
    duration: float = Field(default=5, gt=0, le=600)  # splash_ad: seconds before it ends by itself
    then: Actions = []  # splash_ad: runs when it ends (skipped or timed out)
    label: Text | None = None  # the ad mark; None = 广告 / Ad

    @model_validator(mode="after")
    def _fits_kind(self) -> Dialog:
        if self.kind in ("consent", "rationale", "alert") and not self.buttons:
            raise ValueError(f"a {self.kind} dialog needs at least one button")
        if self.kind not in ("ad", "splash_ad") and (self.close or self.cta or self.image):
            raise ValueError("close / cta / image belong to ads")
        if self.kind != "splash_ad" and (self.skip or self.then):
            raise ValueError("skip / then belong to splash_ad dialogs")
        if self.checkbox and self.kind != "consent":
            raise ValueError("checkbox belongs to consent dialogs")
        return self


# ---------------------------------------------------------------------------------------------------- the app


class Theme(Strict):
    primary: str = Field(default="#1a73e8", pattern=COLOUR)  # toolbar, primary buttons
    on_primary: str = Field(default="#ffffff", pattern=COLOUR)
    background: str = Field(default="#f5f5f5", pattern=COLOUR)
    surface: str = Field(default="#ffffff", pattern=COLOUR)  # cards, dialogs
    text: str = Field(default="#202124", pattern=COLOUR)
    accent: str = Field(default="#ff6d00", pattern=COLOUR)  # prices, badges


class SelfStartModel(Strict):
    every: float = Field(gt=0)
    reason: str = "broadcast"
    component: str = ""
    first_after: float = Field(default=0, ge=0)


class AppInfo(Strict):
    package: str = Field(pattern=PACKAGE, max_length=120)
    label: str = Field(min_length=1, max_length=40)
    version_name: str = "1.0.0"
    version_code: int = Field(default=1, ge=1)
    locale: Literal["zh-CN", "en-US"]
    category: str = Field(pattern=ID)  # weather, news, shop, map, video, bank, game, notes, camera, store...
    theme: Theme = Theme()
    permissions: list[str] = []
    launcher: str = Field(default=".MainActivity", pattern=ACTIVITY)
    target_sdk: int = Field(default=33, ge=23, le=35)
    self_starts: list[SelfStartModel] = []

    @field_validator("permissions")
    @classmethod
    def _known_permissions(cls, value: list[str]) -> list[str]:
        known = permission_groups()
        for name in value:
            if name not in known:
                raise ValueError(f"unknown runtime permission '{name[:80]}'")
        return value

    @field_validator("version_name", mode="before")
    @classmethod
    def _version_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, (int, float)) else value


class Expectation(Strict):
    kind: str
    permission: str | None = None  # a permission group: location, camera, ...
    note: str = ""

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        if value not in finding_kinds():
            raise ValueError(f"unknown finding kind '{value[:60]}'")
        return value

    @field_validator("permission")
    @classmethod
    def _known_group(cls, value: str | None) -> str | None:
        if value is not None and value not in permission_group_names():
            raise ValueError(f"unknown permission group '{value[:60]}' (known: {', '.join(sorted(permission_group_names()))})")
        return value


class AppModel(Strict):
    """One zoo app file."""

    app: AppInfo
    control: bool = False  # a clean control: expects no finding at all
    expect: list[Expectation]
    start: str | None = None  # the first screen; None = the first screen whose activity is the launcher
    on_start: Actions = []  # the process started (any reason; see `if_reason`)
    screens: dict[str, Screen] = Field(min_length=1)
    dialogs: dict[str, Dialog] = {}

    @model_validator(mode="after")
    def _control_means_clean(self) -> AppModel:
        if self.control and self.expect:
            raise ValueError("a control app expects no findings (expect: [])")
        if not self.control and not self.expect:
            raise ValueError("expect is empty: mark clean apps with control: true")
        return self

    def start_screen(self) -> str:
        if self.start:
            return self.start
        for name, screen in self.screens.items():
            if screen.activity == self.app.launcher:
                return name
        return next(iter(self.screens))


for _model in (Request, IfGranted, IfPref, IfReason, After, Every):
    _model.model_rebuild()


# ---------------------------------------------------------------------------------------------------- references


def _walk_actions(actions: list, place: str):
    """Yield (place, action) for every action, nested ones included."""
    for i, action in enumerate(actions):
        here = f"{place}[{i}]"
        yield here, action
        for attr in ("on_granted", "on_denied", "then", "else_", "do"):
            nested = getattr(action, attr, None)
            if nested:
                yield from _walk_actions(nested, f"{here}.{attr.rstrip('_')}")


def all_actions(model: AppModel):
    """Every (place, action) list root of an app model, with its place in the file."""
    yield from _walk_actions(model.on_start, "on_start")
    for name, screen in model.screens.items():
        base = f"screens.{name}"
        for trig in ("on_enter", "on_resume", "on_back"):
            yield from _walk_actions(getattr(screen, trig) or [], f"{base}.{trig}")
        if screen.toolbar:
            for i, act in enumerate(screen.toolbar.actions):
                yield from _walk_actions(act.on_tap, f"{base}.toolbar.actions[{i}].on_tap")
        for i, widget in enumerate(screen.content):
            wplace = f"{base}.content[{i}]"
            yield from _walk_actions(widget.on_tap, f"{wplace}.on_tap")
            yield from _walk_actions(getattr(widget, "item_on_tap", []), f"{wplace}.item_on_tap")
            for j, item in enumerate(getattr(widget, "items", [])):
                yield from _walk_actions(item.on_tap or [], f"{wplace}.items[{j}].on_tap")
    for name, dialog in model.dialogs.items():
        base = f"dialogs.{name}"
        yield from _walk_actions(dialog.on_back or [], f"{base}.on_back")
        yield from _walk_actions(dialog.then, f"{base}.then")
        for i, button in enumerate(dialog.buttons):
            yield from _walk_actions(button.on_tap, f"{base}.buttons[{i}].on_tap")
        if dialog.cta:
            yield from _walk_actions(dialog.cta.on_tap, f"{base}.cta.on_tap")
        if dialog.close:
            yield from _walk_actions(dialog.close.on_tap, f"{base}.close.on_tap")


def check_references(model: AppModel) -> list[tuple[str, str]]:
    """What the schema cannot see: (place, problem) for every dangling name."""
    problems: list[tuple[str, str]] = []
    screens, dialogs = set(model.screens), set(model.dialogs)
    declared = set(model.app.permissions)
    timers = {a.name for _, a in all_actions(model) if isinstance(a, (After, Every)) and a.name}
    inputs = {w.id for screen in model.screens.values() for w in screen.content if isinstance(w, InputWidget) and w.id}
    if model.start and model.start not in screens:
        problems.append(("start", f"unknown screen '{model.start}'"))
    for place, action in all_actions(model):
        if isinstance(action, (Goto, Replace)):
            target = action.goto if isinstance(action, Goto) else action.replace
            if target not in screens:
                problems.append((place, f"unknown screen '{target[:60]}'"))
        elif isinstance(action, Show) and action.show not in dialogs:
            problems.append((place, f"unknown dialog '{action.show[:60]}'"))
        elif isinstance(action, Dismiss) and isinstance(action.dismiss, str) and action.dismiss not in dialogs:
            problems.append((place, f"unknown dialog '{action.dismiss[:60]}'"))
        elif isinstance(action, (Request, IfGranted)):
            names = action.request if isinstance(action, Request) else action.if_granted
            for perm in [names] if isinstance(names, str) else names:
                if perm not in permission_groups():
                    problems.append((place, f"unknown runtime permission '{perm[:80]}'"))
                elif perm not in declared:
                    problems.append((place, f"permission '{perm}' is not declared in app.permissions"))
        elif isinstance(action, Cancel) and action.cancel not in timers:
            problems.append((place, f"unknown timer '{action.cancel[:60]}'"))
        elif isinstance(action, Launch) and action.launch == model.app.package:
            problems.append((place, "launch names the app itself (use goto)"))
        elif isinstance(action, SetText):
            for ref in [action.set_text, *action.sum_of]:
                if ref not in inputs:
                    problems.append((place, f"no input with id '{ref[:60]}'"))
    for name, screen in model.screens.items():
        for i, tab in enumerate(screen.tabs):
            if tab.goto not in screens:
                problems.append((f"screens.{name}.tabs[{i}].goto", f"unknown screen '{tab.goto[:60]}'"))
        ids: set[str] = set()
        for i, widget in enumerate(screen.content):
            if widget.id and widget.id in ids:
                problems.append((f"screens.{name}.content[{i}].id", f"duplicate id '{widget.id}'"))
            ids.add(widget.id or "")
    for name, dialog in model.dialogs.items():
        for i, link in enumerate(dialog.links):
            if link.goto and link.goto not in screens:
                problems.append((f"dialogs.{name}.links[{i}].goto", f"unknown screen '{link.goto[:60]}'"))
    return problems

