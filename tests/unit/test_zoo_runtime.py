"""The zoo runtime against a small recording AppHost: clock, scheduler, permission answers, prefs."""

from __future__ import annotations

import heapq
from collections.abc import Callable
from pathlib import Path

import pytest

from emulator.sim.view import Window
from emulator.zoo import load_app, load_zoo
from emulator.zoo.layout import HEIGHT, STATUS_BAR, WIDTH
from emulator.zoo.loader import parse_app

APPS = Path(__file__).resolve().parents[2] / "emulator" / "zoo" / "apps"


class RecordingHost:
    """What the system offers an app process, reduced to a clock, a timer queue and a log of calls."""

    def __init__(self, package: str, prefs: dict | None = None, locale: str = "zh-CN") -> None:
        self.package = package
        self.clock = 0.0
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self._cancelled: set[int] = set()
        self._next = 1
        self.storage = prefs if prefs is not None else {}
        self.granted: set[str] = set()
        self.pending: list[tuple[list[str], Callable[[dict[str, bool]], None]]] = []
        self.calls: list[tuple] = []
        self._locale = locale

    # AppHost
    def now(self) -> float:
        return self.clock

    def locale(self) -> str:
        return self._locale

    def screen_size(self) -> tuple[int, int]:
        return WIDTH, HEIGHT

    def schedule(self, delay: float, callback: Callable[[], None]) -> int:
        timer_id = self._next
        self._next += 1
        heapq.heappush(self._queue, (self.clock + delay, timer_id, callback))
        return timer_id

    def cancel(self, timer_id: int) -> None:
        self._cancelled.add(timer_id)

    def prefs(self) -> dict:
        return self.storage

    def permission_granted(self, permission: str) -> bool:
        return permission in self.granted

    def should_show_rationale(self, permission: str) -> bool:
        return False

    def request_permissions(self, permissions, on_result) -> None:
        self.calls.append(("request", tuple(permissions), self.clock))
        self.pending.append((list(permissions), on_result))

    def finish(self) -> None:
        self.calls.append(("finish", self.clock))
        self._queue.clear()

    def move_to_back(self) -> None:
        self.calls.append(("move_to_back", self.clock))

    def crash(self, message: str) -> None:
        self.calls.append(("crash", message, self.clock))
        self._queue.clear()

    def anr(self) -> None:
        self.calls.append(("anr", self.clock))

    def start_app(self, package: str, activity: str = "", uri: str = "") -> bool:
        self.calls.append(("start_app", package, self.clock))
        return True

    def open_app_settings(self) -> None:
        self.calls.append(("open_settings", self.clock))

    def log(self, tag: str, message: str, level: str = "I") -> None:
        self.calls.append(("log", tag, message))

    def invalidate(self) -> None:
        pass

    # test controls
    def advance(self, seconds: float) -> None:
        end = self.clock + seconds
        while self._queue and self._queue[0][0] <= end:
            when, timer_id, callback = heapq.heappop(self._queue)
            self.clock = when
            if timer_id not in self._cancelled:
                callback()
        self.clock = end

    def answer(self, grant: bool) -> None:
        """The user answers every pending system permission dialog."""
        while self.pending:
            perms, on_result = self.pending.pop(0)
            if grant:
                self.granted.update(perms)
            on_result({p: grant for p in perms})

    def called(self, name: str) -> list[tuple]:
        return [c for c in self.calls if c[0] == name]


def start(app, host: RecordingHost | None = None, reason: str = "activity"):
    host = host or RecordingHost(app.manifest.package)
    runtime = app.create(host)
    runtime.on_start(reason)
    if reason == "activity":
        runtime.on_foreground(True)
    return host, runtime


def texts(windows: list[Window]) -> list[str]:
    return [n.text for w in windows for n in w.root.walk() if n.text]


def key_of(windows: list[Window], text: str) -> str:
    for window in reversed(windows):
        for node in window.root.walk():
            if node.clickable and node.key and (node.text == text or node.content_desc == text):
                return node.key
    raise AssertionError(f"no clickable {text!r} in {texts(windows)}")


def tap_text(runtime, text: str) -> None:
    runtime.tap(key_of(runtime.windows(), text))


def make(text: str):
    from emulator.zoo.loader import ZooApp

    return ZooApp(parse_app(text, "test.yaml"))


def test_deny_makes_the_weather_app_exit_one_second_later():
    app = load_app(APPS / "weather_quit.yaml")
    host, runtime = start(app)
    host.advance(1.5)  # splash -> home, which asks for location
    assert host.called("request")
    denied_at = host.clock
    host.answer(grant=False)
    assert not host.called("finish")
    assert "定位失败，应用即将退出" in texts(runtime.windows())
    host.advance(1.0)
    assert [c[0] for c in host.called("finish")] == ["finish"]
    assert host.called("finish")[0][1] == pytest.approx(denied_at + 1.0)


def test_grant_keeps_the_weather_app_running():
    app = load_app(APPS / "weather_quit.yaml")
    host, runtime = start(app)
    host.advance(1.5)
    host.answer(grant=True)
    host.advance(30)
    assert not host.called("finish")
    assert runtime.activity() == "com.example.qingtian.weather.ui.MainActivity"


CONSENT_APP = """
app: {package: com.example.reader, label: 阅读, locale: zh-CN, category: news}
expect: [{kind: consent_refusal_exit}]
screens:
  home:
    activity: .MainActivity
    content: [{type: text, text: 首页}]
    on_enter: [{if_pref: consent_accepted, else: [show: consent]}]
dialogs:
  consent:
    kind: consent
    title: 温馨提示
    message: 请阅读《隐私政策》
    buttons:
      - {id: btn_disagree, text: 不同意, on_tap: [dismiss, show: again]}
      - {id: btn_agree, text: 同意, primary: true, on_tap: [{set_pref: {consent_accepted: true}}, dismiss]}
  again:
    kind: consent
    title: 再次温馨提示
    message: 不同意将无法使用我们的产品和服务，并会退出App
    buttons:
      - {id: btn_exit, text: 不同意并退出, on_tap: [exit]}
      - {id: btn_back, text: 查看协议, primary: true, on_tap: [dismiss, show: consent]}
"""


def test_refusing_consent_twice_exits_and_accepting_is_remembered_across_restarts():
    app = make(CONSENT_APP)
    storage: dict = {}
    host, runtime = start(app, RecordingHost(app.manifest.package, storage))
    tap_text(runtime, "不同意")
    assert "再次温馨提示" in texts(runtime.windows())
    tap_text(runtime, "不同意并退出")
    assert host.called("finish")
    # cold relaunch: same storage (prefs survive death), consent shown again, accepted this time
    host, runtime = start(app, RecordingHost(app.manifest.package, storage))
    tap_text(runtime, "同意")
    assert "温馨提示" not in texts(runtime.windows())
    host, runtime = start(app, RecordingHost(app.manifest.package, storage))
    assert "温馨提示" not in texts(runtime.windows())
    # pm clear wipes the app's data: consent is asked again
    storage.clear()
    host, runtime = start(app, RecordingHost(app.manifest.package, storage))
    assert "温馨提示" in texts(runtime.windows())


TIMER_APP = """
app:
  package: com.example.nag
  label: Nag
  locale: en-US
  category: tools
  permissions: [android.permission.CAMERA]
expect: [{kind: reprompt_after_refusal, permission: camera}]
screens:
  home:
    activity: .MainActivity
    content: [{type: text, text: Home}]
    on_enter:
      - every: 30
        do: [{request: [android.permission.CAMERA]}]
      - after: 5
        while: foreground
        do: [{log: five}]
"""


def test_every_repeats_while_in_front_and_pauses_in_background():
    app = make(TIMER_APP)
    host, runtime = start(app)
    host.advance(95)
    assert [c[2] for c in host.called("request")] == [30, 60, 90]
    runtime.on_foreground(False)
    host.advance(60)
    assert len(host.called("request")) == 3
    runtime.on_foreground(True)
    host.advance(30)
    assert len(host.called("request")) == 4
    assert host.called("log") == [("log", "Nag", "five")]


def test_after_with_while_foreground_is_skipped_in_background():
    app = make(TIMER_APP)
    host, runtime = start(app)
    runtime.on_foreground(False)
    host.advance(10)
    assert host.called("log") == []


def test_timers_die_with_the_process():
    app = make(TIMER_APP.replace("do: [{log: five}]", "do: [exit]"))
    host, runtime = start(app)
    host.advance(6)
    assert host.called("finish")
    host.advance(100)
    assert host.called("request") == []
    assert runtime.windows() == []


PIXEL_APP = """
app: {package: com.example.game, label: 消消乐, locale: zh-CN, category: game}
expect: [{kind: consent_no_refuse_option}]
screens:
  home:
    activity: .UnityPlayerActivity
    pixel_only: true
    content: [{type: button, text: 开始游戏}]
    on_enter: [show: notice]
dialogs:
  notice:
    kind: consent
    pixel_only: true
    title: 用户协议
    message: 欢迎来到消消乐
    buttons: [{id: ok, text: 我知道了, primary: true, on_tap: [dismiss]}]
"""


def test_pixel_only_screens_and_dialogs_are_marked_but_still_tappable():
    app = make(PIXEL_APP)
    _host, runtime = start(app)
    windows = runtime.windows()
    assert len(windows) == 2
    for window in windows:
        marked = [n for n in window.root.walk() if n.pixel_only]
        assert marked, window.title
        # everything with text sits below a pixel-only node
        inside = {id(x) for n in marked for x in n.walk()}
        assert all(id(n) in inside for n in window.root.walk() if n.text)
    tap_text(runtime, "我知道了")
    assert len(runtime.windows()) == 1


def _clickables(window: Window):
    return [n for n in window.root.walk() if n.clickable]


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _all_windows(app):
    """Every screen and every dialog of an app, laid out."""
    from emulator.zoo import layout
    from emulator.zoo.layout import ViewState

    state = ViewState(now=100.0, dialog_shown_at={name: 100.0 for name in app.model.dialogs})
    for name in app.model.screens:
        yield f"screen {name}", layout.screen_layout(app.model, name, state).window
    for name in app.model.dialogs:
        yield f"dialog {name}", layout.dialog_layout(app.model, name, state).window
        late = ViewState(now=1000.0, dialog_shown_at={name: 100.0})
        yield f"dialog {name} later", layout.dialog_layout(app.model, name, late).window


@pytest.mark.parametrize("app", load_zoo(), ids=lambda a: a.manifest.package)
def test_layout_stays_on_screen_and_clickables_do_not_overlap(app):
    for where, window in _all_windows(app):
        for node in window.root.walk():
            x1, y1, x2, y2 = node.bounds
            assert 0 <= x1 <= x2 <= WIDTH and 0 <= y1 <= y2 <= HEIGHT, (where, node.cls, node.text, node.bounds)
            if node.text or node.clickable:
                assert y1 >= STATUS_BAR, (where, node.text, node.bounds)
        clickables = _clickables(window)
        for i, a in enumerate(clickables):
            assert a.key, (where, a.text)
            for b in clickables[i + 1:]:
                assert not _overlap(a.bounds, b.bounds), (where, a.text or a.key, b.text or b.key)


@pytest.mark.parametrize("app", load_zoo(), ids=lambda a: a.manifest.package)
def test_every_app_starts_and_draws_its_first_screen(app):
    host, runtime = start(app)
    host.advance(0.5)
    windows = runtime.windows()
    assert windows and windows[0].package == app.manifest.package
    assert texts(windows)


# ------------------------------------------------------------------ shipped apps under the deny-first crawler's moves


def app_named(file: str):
    return load_app(APPS / file)


def test_map_app_traps_a_denial_in_a_settings_or_exit_dialog_that_returns():
    host, runtime = start(app_named("map_refusal_loop.yaml"))
    host.answer(grant=False)
    assert "去设置" in texts(runtime.windows()) and "退出" in texts(runtime.windows())
    assert runtime.back() is True and "去设置" in texts(runtime.windows())  # back does not get rid of it
    tap_text(runtime, "去设置")
    assert host.called("open_settings")
    runtime.on_foreground(False)
    runtime.on_foreground(True)
    assert "需要定位权限" in texts(runtime.windows())


def test_shop_pop_up_returns_twenty_seconds_after_it_was_closed():
    host, runtime = start(app_named("shop_popup.yaml"))
    host.advance(2)
    runtime.tap("promo/close")
    assert "188元 新人红包" not in texts(runtime.windows())
    host.advance(19)
    assert "188元 新人红包" not in texts(runtime.windows())
    host.advance(1)
    assert "188元 新人红包" in texts(runtime.windows())


def test_notes_ad_close_appears_only_after_five_seconds_and_the_ad_stays_closed():
    host, runtime = start(app_named("notes_close_countdown.yaml"))
    host.advance(1)
    assert "5s" in texts(runtime.windows())
    assert "interstitial/close" not in {n.key for w in runtime.windows() for n in w.root.walk() if n.clickable}
    host.advance(5)
    runtime.tap(key_of(runtime.windows(), "Close"))
    host.advance(120)
    assert "Summer Sale" not in texts(runtime.windows())


def test_novel_splash_ad_has_no_skip_and_ends_after_six_seconds():
    host, runtime = start(app_named("novel_splash_no_skip.yaml"))
    ad = runtime.windows()[-1]
    assert not [n for n in ad.root.walk() if n.clickable]
    host.advance(5.9)
    assert "家电焕新 至高立减2000元" in texts(runtime.windows())
    host.advance(0.2)
    assert runtime.activity() == "com.example.shuxiang.novel.MainActivity"


def test_video_splash_skip_works_at_once_and_storage_is_asked_every_thirty_seconds():
    host, runtime = start(app_named("video_reprompt.yaml"))
    assert "跳过 3" in texts(runtime.windows())
    tap_text(runtime, "跳过 3")
    assert runtime.activity().endswith(".main.HomeActivity")
    host.answer(grant=False)
    host.advance(61)
    assert len(host.called("request")) == 3


def test_cleaner_opens_the_app_store_five_seconds_after_start():
    host, _runtime = start(app_named("cleaner_associated_launch.yaml"))
    host.advance(4.9)
    assert not host.called("start_app")
    host.advance(0.2)
    assert host.called("start_app")[0][1] == "com.example.appstore"


def test_bank_asks_for_the_phone_before_its_consent_and_refusal_leads_to_guest_mode():
    host, runtime = start(app_named("bank_before_consent.yaml"))
    assert host.called("request") and "个人信息保护提示" not in texts(runtime.windows())
    host.answer(grant=False)
    assert "个人信息保护提示" in texts(runtime.windows())
    tap_text(runtime, "不同意")
    assert "当前为游客模式" in texts(runtime.windows())
    host2, _runtime2 = start(app_named("bank_before_consent.yaml"), RecordingHost("com.example.anxin.bank",
                                                                                 host.storage))
    assert not host2.called("request")  # asked once per install


def test_game_notice_offers_only_an_accept_button_and_its_text_is_pixel_only():
    _host, runtime = start(app_named("game_no_refuse.yaml"))
    notice = runtime.windows()[-1]
    buttons = [n.text for n in notice.root.walk() if n.clickable]
    assert buttons == ["我知道了"]
    assert any(n.pixel_only for n in notice.root.walk())


def test_ride_app_goes_to_the_background_a_second_after_the_denial():
    host, _runtime = start(app_named("ride_quit_background.yaml"))
    host.answer(grant=False)
    host.advance(1)
    assert host.called("move_to_back") and not host.called("finish")


def test_step_counter_asks_again_each_time_today_is_shown():
    host, runtime = start(app_named("fitness_reprompt.yaml"))
    host.answer(grant=False)
    tap_text(runtime, "History")
    tap_text(runtime, "Today")
    assert len(host.called("request")) == 2


def test_parcel_tracker_starts_in_the_background_without_a_window():
    app = app_named("parcel_self_start.yaml")
    assert app.manifest.self_starts[0].every == 600
    host, runtime = start(app, reason="broadcast")
    assert runtime.windows() == []
    assert host.called("log")


def test_clean_news_app_offers_browse_only_and_asks_location_only_from_the_local_channel():
    host, runtime = start(app_named("news_clean_consent.yaml"))
    tap_text(runtime, "不同意")
    assert "当前为仅浏览模式" in texts(runtime.windows())
    assert not host.called("finish") and not host.called("request")
    host, runtime = start(app_named("news_clean_consent.yaml"))
    tap_text(runtime, "同意")
    host.advance(120)
    assert not host.called("request")
    tap_text(runtime, "本地")
    assert "获取位置信息" in texts(runtime.windows())
    tap_text(runtime, "继续")
    host.answer(grant=False)
    assert runtime.windows()[0].activity.endswith(".MainActivity") and not host.called("finish")


def test_polite_scanner_explains_before_asking_and_keeps_working_after_denial():
    host, runtime = start(app_named("camera_polite.yaml"))
    host.advance(300)
    assert not host.called("request")
    tap_text(runtime, "Scan a document")
    assert "Camera access" in texts(runtime.windows())
    tap_text(runtime, "Continue")
    host.answer(grant=False)
    assert "You can still import scans from your gallery." in texts(runtime.windows())
    tap_text(runtime, "Import from gallery")
    assert runtime.activity() == "com.example.scanly.DocumentsActivity"


def test_consent_checkbox_gates_the_primary_button():
    text = CONSENT_APP.replace("    title: 温馨提示\n", "    title: 温馨提示\n    checkbox: {text: 我已阅读并同意}\n", 1)
    _host, runtime = start(make(text))
    tap_text(runtime, "同意")
    assert "温馨提示" in texts(runtime.windows())
    assert "请先阅读并勾选同意协议" in texts(runtime.windows())
    tap_text(runtime, "我已阅读并同意")
    tap_text(runtime, "同意")
    assert "温馨提示" not in texts(runtime.windows())
