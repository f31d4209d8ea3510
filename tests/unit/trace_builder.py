"""Builds realistic traces for detector tests, step by step, the way the session loop records them.

    b = TraceBuilder()
    b.launch()                     # launch action + am_proc_start event
    b.screen(["首页"])              # an app screen
    b.dialog("camera"); b.deny("camera")
    b.gone()                       # am_proc_died + a poll that saw the pid vanish
    trace = b.build()

Every call returns the seq of the (last) step it added. The clock moves by `dt` before each step (device seconds).
"""

from __future__ import annotations

import hashlib

from crawler.perceive.scene import Checkbox, Control, Scene
from crawler.trace import Step, Trace

PACKAGE = "com.example.app"
UID = 10087
LAUNCHER = "com.android.launcher3"
CONTROLLER = "com.android.permissioncontroller"
T0 = 1_700_000_000.0


def _control(text: str, enabled: bool = True, y: int = 1200) -> Control:
    return Control((100, y, 620, y + 80), text=text, enabled=enabled)


class TraceBuilder:
    def __init__(self, package: str = PACKAGE, version: str = "1.0", uid: int = UID):
        self.package, self.uid = package, uid
        self.steps: list[Step] = []
        self.t = T0
        self.pid: int | None = None
        self._next_pid = 4000
        self.add("run_start", {
            "device": {"serial": "sim-1", "model": "sim", "android": "13", "sdk": 33, "rom": "AOSP", "locale": "zh-CN"},
            "app": {"package": package, "label": "Example", "version_name": version, "version_code": 1,
                    "apk_sha256": ""},
            "tool": {"name": "naysayer", "version": "0.1.0"}, "strategy": "deny", "seed": 0, "settings": {},
        }, dt=0)

    # -- raw --------------------------------------------------------------------------------------------------
    def add(self, kind: str, data: dict, dt: float = 0.5) -> int:
        self.t = round(self.t + dt, 3)
        seq = len(self.steps)
        self.steps.append(Step(seq, self.t, kind, data))
        return seq

    def build(self) -> Trace:
        self.add("run_end", {"reason": "done", "detail": "", "steps": 0, "seconds": round(self.t - T0, 3)}, dt=0.1)
        return Trace(list(self.steps))

    # -- observations -----------------------------------------------------------------------------------------
    def observe(self, scene: Scene, package: str | None = None, activity: str = ".MainActivity",
                in_front: bool | None = None, state: str | None = None, dt: float = 0.5) -> int:
        package = self.package if package is None else package
        if in_front is None:
            in_front = package == self.package or (scene.kind == "permission_dialog" and "permission" in package)
        seq_hint = len(self.steps)
        return self.add("observation", {
            "package": package, "activity": activity, "pid": self.pid, "state": state or f"s{activity}:{scene.kind}",
            "scene": scene.to_json(), "xml": hashlib.sha256(f"xml{seq_hint}".encode()).hexdigest(),
            "png": hashlib.sha256(f"png{seq_hint}".encode()).hexdigest(), "app_in_front": in_front,
        }, dt=dt)

    def screen(self, text: list[str] | tuple[str, ...] = ("首页",), activity: str = ".MainActivity",
               state: str | None = None, dt: float = 0.5) -> int:
        return self.observe(Scene("app", package=self.package, text=list(text)), activity=activity, state=state, dt=dt)

    def dialog(self, group: str, dont_ask: bool = False, dt: float = 0.5) -> int:
        actions = {"allow": _control("允许", y=1100), "deny": _control("拒绝")}
        if dont_ask:
            actions["deny_dont_ask"] = _control("拒绝，不要再询问", y=1300)
        scene = Scene("permission_dialog", package=CONTROLLER, permission=group, actions=actions,
                      text=[f"要允许“Example”使用{group}吗？", "允许", "拒绝"])
        return self.observe(scene, package=CONTROLLER, activity=".GrantPermissionsActivity", dt=dt)

    def nag(self, group: str | None, roles: tuple[str, ...] = ("not_now", "settings"),
            text: tuple[str, ...] = ("需要开启权限才能继续使用",), dt: float = 0.5,
            dialog_text: tuple[str, ...] = ()) -> int:
        labels = {"not_now": "暂不开启", "settings": "去设置", "grant": "去开启", "exit": "退出", "ok": "确定",
                  "close": "关闭"}
        actions = {r: _control(labels.get(r, r), y=1000 + 100 * i) for i, r in enumerate(roles)}
        return self.observe(Scene("rationale_dialog", package=self.package, permission=group, actions=actions,
                                  text=list(text), dialog_text=list(dialog_text)), dt=dt)

    def consent(self, roles: tuple[str, ...] = ("accept", "refuse"), checked: bool | None = None,
                box_text: str = "我已阅读并同意《隐私政策》", text: tuple[str, ...] = ("温馨提示", "请阅读《隐私政策》"),
                dt: float = 0.5) -> int:
        labels = {"accept": "同意", "refuse": "不同意", "browse": "仅浏览"}
        actions = {r: _control(labels.get(r, r), y=1000 + 100 * i) for i, r in enumerate(roles)}
        boxes = [] if checked is None else [Checkbox((80, 900, 120, 940), box_text, checked)]
        return self.observe(Scene("consent_dialog", package=self.package, actions=actions, checkboxes=boxes,
                                  text=list(text)), dt=dt)

    def ad(self, kind: str = "ad_popup", roles: tuple[str, ...] = ("close",), text: tuple[str, ...] = ("限时特惠",),
           countdown: int | None = None, enabled: bool = True, activity: str = ".MainActivity",
           state: str | None = None, dt: float = 0.5) -> int:
        labels = {"close": "×", "skip": f"跳过 {countdown}" if countdown else "跳过", "cta": "立即下载"}
        actions = {r: _control(labels.get(r, r), enabled=enabled if r in ("close", "skip") else True,
                               y=100 + 100 * i) for i, r in enumerate(roles)}
        scene = Scene(kind, package=self.package, actions=actions, text=list(text) + (
            [labels["skip"]] if "skip" in roles else []), countdown=countdown)
        return self.observe(scene, activity=activity, state=state, dt=dt)

    def away(self, package: str = LAUNCHER, activity: str = ".Launcher", dt: float = 0.5) -> int:
        return self.observe(Scene("app", package=package, text=["桌面"]), package=package, activity=activity,
                            in_front=False, dt=dt)

    # -- actions ----------------------------------------------------------------------------------------------
    def act(self, type: str, role: str = "", scene: str = "app", permission: str | None = None, text: str = "",
            user_like: bool = True, dt: float = 0.2, **extra) -> int:
        data = {"type": type, "role": role, "scene": scene, "reason": "test", "user_like": user_like,
                "by": "strategy", **extra}
        if permission is not None:
            data["permission"] = permission
        if text or type in ("tap", "long_tap"):
            data["target"] = {"bounds": [100, 1200, 620, 1280], "text": text, "resource_id": ""}
        return self.add("action", data, dt=dt)

    def launch(self, cold: bool = True, dt: float = 0.2) -> int:
        seq = self.add("action", {"type": "launch", "cold": cold, "reason": "test launch", "user_like": True,
                                  "by": "session"}, dt=dt)
        if cold or self.pid is None:
            self.start_process("activity", dt=0.1)
        return seq

    def start_process(self, reason: str, dt: float = 0.5) -> int:
        self._next_pid += 1
        self.pid = self._next_pid
        return self.event("proc_start", pid=self.pid, uid=self.uid, reason=reason,
                          component=f"{self.package}/.MainActivity", dt=dt)

    def tap(self, text: str = "", role: str = "", scene: str = "app", permission: str | None = None,
            user_like: bool = True, dt: float = 0.2) -> int:
        return self.act("tap", role=role, scene=scene, permission=permission, text=text, user_like=user_like, dt=dt)

    def deny(self, group: str, dont_ask: bool = False, dt: float = 0.2) -> int:
        role = "deny_dont_ask" if dont_ask else "deny"
        return self.act("tap", role=role, scene="permission_dialog", permission=group, text="拒绝", dt=dt)

    def wait(self, seconds: float) -> int:
        seq = self.act("wait", seconds=seconds, dt=0.1)
        self.t = round(self.t + seconds, 3)
        return seq

    def back(self, user_like: bool = True, scene: str = "app", role: str = "") -> int:
        return self.act("back", role=role, scene=scene, user_like=user_like)

    def home(self) -> int:
        return self.act("home", scene="app")

    # -- events -----------------------------------------------------------------------------------------------
    def event(self, type: str, package: str | None = None, dt: float = 0.3, **data) -> int:
        body = {"type": type, "package": self.package if package is None else package, "pid": None, "uid": None,
                "reason": "", "component": "", "caller_uid": None, "raw": "", "source": "logcat"}
        body.update(data)
        return self.add("event", body, dt=dt)

    def gone(self, dt: float = 0.5) -> int:
        """The process ends: am_proc_died, then the poll that saw the pid vanish; the launcher in front."""
        pid, self.pid = self.pid, None
        self.event("proc_died", pid=pid, dt=dt)
        self.event("app_died", pid=pid, source="poll", dt=0.1)
        return self.away(dt=0.2)

    def crash(self, dt: float = 0.5) -> int:
        self.event("crash", pid=self.pid, reason="java.lang.SecurityException", dt=dt)
        pid, self.pid = self.pid, None
        return self.event("proc_died", pid=pid, dt=0.1)

    def permission_request(self, dt: float = 0.3, **data) -> int:
        return self.event("permission_request", package=CONTROLLER, caller_uid=self.uid,
                          component=f"{CONTROLLER}/.ui.GrantPermissionsActivity", dt=dt, **data)

    def permissions(self, states: dict[str, tuple[bool, list[str]]], dt: float = 0.1) -> int:
        return self.add("permissions", {"package": self.package, "permissions": {
            name: {"granted": granted, "flags": flags} for name, (granted, flags) in states.items()}}, dt=dt)

    def recovery(self, type: str, detail: str = "") -> int:
        return self.add("recovery", {"type": type, "detail": detail}, dt=0.1)
