"""One running process of a zoo app: executes the app model's actions against the system's `AppHost`.

State lives only as long as the process (screen stack, dialogs, timers, typed text); what must survive death goes
through `host.prefs()`. Time is `host.now()`, delays are `host.schedule`: nothing random, no wall clock.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from emulator.sim.app_api import AppHost
from emulator.sim.view import Window
from emulator.zoo import layout as lay
from emulator.zoo import model as m

TOAST_SECONDS = 2.0
MAX_DEPTH = 40  # a screen whose on_enter goes to itself must not hang the simulator
MAX_INPUT = 200


@dataclass(frozen=True)
class Ctx:
    """Where an action list runs: the dialog it belongs to ('' for a screen), for a bare `dismiss`."""

    dialog: str = ""


class ZooRuntime:
    """Implements `emulator.sim.app_api.AppRuntime` for one `AppModel`."""

    def __init__(self, model: m.AppModel, host: AppHost) -> None:
        self.model = model
        self.host = host
        self.package = model.app.package
        self.stack: list[str] = []  # screen names, bottom to top
        self.dialogs: list[str] = []  # showing dialogs, bottom to top
        self.view = lay.ViewState()
        self.foreground = False
        self.alive = True
        self.reason = ""
        self._timers: dict[str, int] = {}
        self._toast: str = ""
        self._targets: dict[str, lay.Target] = {}
        self._backgrounded = False
        self._depth = 0

    # ------------------------------------------------------------------------------------------ AppRuntime

    def on_start(self, reason: str) -> None:
        self.reason = reason
        self._run(self.model.on_start, Ctx())
        if self.alive and reason == "activity" and not self.stack:
            self._enter(self.model.start_screen())

    def open_activity(self, activity: str) -> None:
        """An explicit start of one of the app's activities: its first screen starts on top of the stack."""
        for name, screen in self.model.screens.items():
            if lay.absolute_activity(self.package, screen.activity) == activity:
                self._enter(name)
                return

    def on_foreground(self, foreground: bool) -> None:
        was = self.foreground
        self.foreground = foreground
        if not foreground:
            self._backgrounded = self._backgrounded or was
            return
        if not self.stack:
            self._enter(self.model.start_screen())
        elif self._backgrounded:
            self._backgrounded = False
            self._run(self.model.screens[self.stack[-1]].on_resume, Ctx())

    def activity(self) -> str:
        name = self.model.screens[self.stack[-1]].activity if self.stack else self.model.app.launcher
        return lay.absolute_activity(self.package, name)

    def windows(self) -> list[Window]:
        if not self.alive or not self.stack:
            return []
        self.view.now = self.host.now()
        targets: dict[str, lay.Target] = {}
        screen = lay.screen_layout(self.model, self.stack[-1], self.view)
        targets.update(screen.targets)
        out = [screen.window]
        for name in self.dialogs:
            dialog = lay.dialog_layout(self.model, name, self.view)
            targets.update(dialog.targets)
            out.append(dialog.window)
        if self._toast:
            out.append(lay.toast_window(self.package, self._toast))
        self._targets = targets
        return out

    def tap(self, key: str) -> None:
        target = self._targets.get(key)
        if target is None:
            self.windows()  # the system may tap before it re-read our windows
            target = self._targets.get(key)
        if target is None or not self.alive:
            return
        ctx = Ctx(target.dialog)
        if target.kind == "back":
            if not self.back():
                self.host.finish()
        elif target.kind == "toggle":
            self.view.checked[target.ref] = not self._checked(target.ref)
            self._run(target.actions, ctx)
        elif target.kind == "close":
            close = self.model.dialogs[target.dialog].close
            if close and not close.fake:
                self._dismiss(target.dialog)
            self._run(target.actions, ctx)
        elif target.kind == "skip":
            self._end_splash(target.dialog)
        elif target.kind == "input":
            self.view.focus = key  # a tap focuses the field (and would show the keyboard)
            self._run(target.actions, ctx)
        elif self._gated_by_checkbox(key, target.dialog):
            self._show_toast(lay.framework_strings(self.model.app.locale)["check_first"]
                             if not self._checkbox(target.dialog).unchecked_toast
                             else self._checkbox(target.dialog).unchecked_toast)
        else:
            self._run(target.actions, ctx)

    def long_tap(self, key: str) -> None:
        """Zoo apps have no long-press menus."""

    def set_text(self, key: str, text: str) -> None:
        if key in self._targets and self._targets[key].kind == "input":
            self.view.texts[key] = text[:MAX_INPUT]

    def focused_input(self) -> str:
        """The key of the input that has the focus ('' for none)."""
        return self.view.focus if self.view.focus in self._targets else ""

    def type_into(self, key: str, text: str, replace: bool = False) -> bool:
        """Typing (an IME commit, `input text`) into an input: appended to what it holds (never to its hint)."""
        if key not in self._targets or self._targets[key].kind != "input":
            return False
        self.view.texts[key] = (text if replace else self._typed(key) + text)[:MAX_INPUT]
        return True

    def _typed(self, key: str) -> str:
        if key in self.view.texts:
            return self.view.texts[key]
        screen, _, wid = key.partition("/")
        for i, w in enumerate(self.model.screens[screen].content if screen in self.model.screens else []):
            if isinstance(w, m.InputWidget) and (w.id or f"#{i}") == wid:
                return w.text
        return ""

    def back(self) -> bool:
        if not self.alive:
            return False
        if self.dialogs:
            name = self.dialogs[-1]
            dialog = self.model.dialogs[name]
            if dialog.on_back is not None:
                self._run(dialog.on_back, Ctx(name))
            elif dialog.cancelable:
                self._dismiss(name)
            return True
        if not self.stack:
            return False
        screen = self.model.screens[self.stack[-1]]
        if screen.on_back is not None:
            self._run(screen.on_back, Ctx())
            return True
        if len(self.stack) > 1:
            self.stack.pop()
            return True
        return False

    def swipe(self, direction: str) -> None:
        """A swipe outside anything scrollable changes nothing (vertical scrolling goes through `scroll`)."""

    def pinch(self, key: str, ratio: float) -> None:
        """Two fingers spread (ratio > 1) or closed (< 1) over a zoom widget: its scale follows, within bounds."""
        target = self._targets.get(key)
        if not self.alive or target is None or target.kind != "zoom":
            return
        screen, _, wid = key.partition("/")
        widget = next((w for i, w in enumerate(self.model.screens[screen].content)
                       if isinstance(w, m.ZoomWidget) and (w.id or f"#{i}") == wid), None)
        if widget is not None:
            scale = self.view.scales.get(key, 1.0) * max(0.0, ratio)
            self.view.scales[key] = min(max(scale, widget.min), widget.max)

    def scroll(self, key: str, dy: float) -> int:
        """Scroll the current screen's content by dy px (positive: towards its end); the px it really moved."""
        if not self.alive or not self.stack or key not in self._targets or self._targets[key].kind != "scroll":
            return 0
        name = self.stack[-1]
        before = self.view.scroll.get(name, 0)
        after = min(max(0, before + round(dy)), self.view.max_scroll.get(name, 0))
        self.view.scroll[name] = after
        return after - before

    # ------------------------------------------------------------------------------------------ actions

    def _run(self, actions, ctx: Ctx) -> None:
        for action in actions:
            if not self.alive:
                return
            self._do(action, ctx)

    def _do(self, a, ctx: Ctx) -> None:
        host = self.host
        if isinstance(a, m.Goto):
            self._enter(a.goto)
        elif isinstance(a, m.Replace):
            self._enter(a.replace, replace=True)
        elif isinstance(a, m.Show):
            self._show(a.show)
        elif isinstance(a, m.Dismiss):
            name = a.dismiss if isinstance(a.dismiss, str) else (ctx.dialog or (self.dialogs[-1] if self.dialogs
                                                                                 else ""))
            self._dismiss(name)
        elif isinstance(a, m.Request):
            def on_result(results: dict[str, bool], a=a, ctx=ctx) -> None:
                if not self.alive:
                    return
                ok = all(results.get(p, False) for p in a.request)
                self._run(a.on_granted if ok else a.on_denied, ctx)
            host.request_permissions(list(a.request), on_result)
        elif isinstance(a, m.IfGranted):
            names = [a.if_granted] if isinstance(a.if_granted, str) else a.if_granted
            self._run(a.then if all(host.permission_granted(p) for p in names) else a.else_, ctx)
        elif isinstance(a, m.IfPref):
            value = host.prefs().get(a.if_pref)
            ok = bool(value) if a.equals is None else value == a.equals
            self._run(a.then if ok else a.else_, ctx)
        elif isinstance(a, m.IfReason):
            reasons = [a.if_reason] if isinstance(a.if_reason, str) else a.if_reason
            self._run(a.then if self.reason in reasons else a.else_, ctx)
        elif isinstance(a, m.SetPref):
            host.prefs().update(a.set_pref)
        elif isinstance(a, m.After):
            self._after(a, ctx)
        elif isinstance(a, m.Every):
            self._every(a, ctx, runs=0)
        elif isinstance(a, m.Cancel):
            self._cancel(a.cancel)
        elif isinstance(a, m.Exit):
            self._die()
            host.finish()
        elif isinstance(a, m.Crash):
            message = a.crash if isinstance(a.crash, str) else "java.lang.IllegalStateException"
            self._die()
            host.crash(message)
        elif isinstance(a, m.Anr):
            host.anr()
        elif isinstance(a, m.Background):
            host.move_to_back()
        elif isinstance(a, m.Launch):
            host.start_app(a.launch, a.activity)
        elif isinstance(a, m.OpenSettings):
            host.open_app_settings()
        elif isinstance(a, m.Toast):
            self._show_toast(a.toast)
        elif isinstance(a, m.Log):
            host.log(a.tag or self.model.app.label[:23], a.log)
        elif isinstance(a, m.SetText):
            self._set_text_action(a)

    def _input_key(self, widget_id: str) -> str:
        return f"{self.stack[-1]}/{widget_id}" if self.stack else ""

    def _set_text_action(self, a: m.SetText) -> None:
        text = a.text
        if a.sum_of:
            total = 0.0
            for ref in a.sum_of:
                try:
                    total += float(self.view.texts.get(self._input_key(ref), "").strip() or 0)
                except ValueError:
                    total = float("nan")
            text = "NaN" if math.isnan(total) else (str(int(total)) if total == int(total) else f"{total:g}")
        self.view.texts[self._input_key(a.set_text)] = text[:MAX_INPUT]

    # ------------------------------------------------------------------------------------------ screens & dialogs

    def _enter(self, name: str, replace: bool = False) -> None:
        if self._depth >= MAX_DEPTH:
            self.host.log("ZooRuntime", f"screen loop at {name}", "W")
            return
        if replace and self.stack:
            self.stack.pop()
        self.stack.append(name)
        self.view.scroll.pop(name, None)  # a new activity (or fragment) starts at the top, unzoomed
        for key in [k for k in self.view.scales if k.startswith(f"{name}/")]:
            del self.view.scales[key]
        # Android gives the first focusable-in-touch-mode view (an EditText) the focus when a window appears
        first_input = next((w.id or f"#{i}" for i, w in enumerate(self.model.screens[name].content)
                            if isinstance(w, m.InputWidget)), None)
        self.view.focus = f"{name}/{first_input}" if first_input else ""
        self._depth += 1
        try:
            self._run(self.model.screens[name].on_enter, Ctx())
        finally:
            self._depth -= 1

    def _show(self, name: str) -> None:
        if name in self.dialogs:
            return
        dialog = self.model.dialogs[name]
        self.dialogs.append(name)
        self.view.dialog_shown_at[name] = self.host.now()
        self.view.checked.pop(f"{name}/checkbox", None)
        countdown = 0.0
        if dialog.kind == "splash_ad":
            self._start_timer(f"splash:{name}", dialog.duration, lambda: self._end_splash(name))
            countdown = dialog.duration if dialog.skip else 0.0
        elif dialog.kind == "ad" and dialog.close and dialog.close.after > 0:
            countdown = dialog.close.after
        if countdown > 0:
            self._tick(name, countdown)

    def _tick(self, name: str, until: float) -> None:
        """Redraw a countdown every second: the skip pill's "跳过 3" and an ad's "5s"."""
        shown = self.view.dialog_shown_at.get(name, 0.0)

        def tick() -> None:
            if name in self.dialogs and self.host.now() - shown < until:
                self._tick(name, until)
        self._start_timer(f"tick:{name}", 1.0, tick)

    def _dismiss(self, name: str) -> None:
        if name in self.dialogs:
            self.dialogs.remove(name)
            self._cancel(f"splash:{name}")
            self._cancel(f"tick:{name}")

    def _end_splash(self, name: str) -> None:
        if name not in self.dialogs:
            return
        self._dismiss(name)
        self._run(self.model.dialogs[name].then, Ctx())

    def _checkbox(self, dialog: str) -> m.Checkbox:
        return self.model.dialogs[dialog].checkbox  # type: ignore[return-value]

    def _checked(self, ref: str) -> bool:
        if ref in self.view.checked:
            return self.view.checked[ref]
        owner, _, rest = ref.partition("/")
        if rest == "checkbox" and owner in self.model.dialogs:
            return self._checkbox(owner).checked
        screen = self.model.screens.get(owner)
        for i, w in enumerate(screen.content if screen else []):
            if isinstance(w, m.SwitchWidget) and (w.id or f"#{i}") == rest:
                return w.checked
        return False

    def _gated_by_checkbox(self, key: str, dialog_name: str) -> bool:
        """A required consent box that is unchecked turns the primary button into a toast."""
        dialog = self.model.dialogs.get(dialog_name)
        if not dialog or not dialog.checkbox or not dialog.checkbox.required:
            return False
        primary = {f"{dialog_name}/{b.id}" for b in dialog.buttons if b.primary}
        return key in primary and not self._checked(f"{dialog_name}/checkbox")

    def _show_toast(self, text: str) -> None:
        self._toast = text
        announce = getattr(self.host, "toast", None)
        if announce is not None:
            announce(text)

        def hide() -> None:
            self._toast = ""
        self._start_timer("__toast", TOAST_SECONDS, hide)

    # ------------------------------------------------------------------------------------------ timers

    def _start_timer(self, name: str, delay: float, fn: Callable[[], None]) -> None:
        self._cancel(name)

        def fire() -> None:
            if not self.alive or self._timers.get(name) != timer_id:
                return
            del self._timers[name]
            fn()
            if self.alive:
                self.host.invalidate()
        timer_id = self.host.schedule(delay, fire)
        self._timers[name] = timer_id

    def _cancel(self, name: str) -> None:
        timer_id = self._timers.pop(name, None)
        if timer_id is not None:
            self.host.cancel(timer_id)

    @staticmethod
    def _timer_name(a: m.After | m.Every) -> str:
        return a.name or f"@{id(a)}"  # the same action object restarts its own timer

    def _after(self, a: m.After, ctx: Ctx) -> None:
        def fire() -> None:
            if a.while_ == "foreground" and not self.foreground:
                return
            self._run(a.do, ctx)
        self._start_timer(self._timer_name(a), a.after, fire)

    def _every(self, a: m.Every, ctx: Ctx, runs: int) -> None:
        def fire() -> None:
            done = runs
            if a.while_ == "always" or self.foreground:
                done += 1
                if a.times is None or done < a.times:
                    self._every(a, ctx, done)  # re-armed first, so `cancel` inside `do` stops it
                self._run(a.do, ctx)
            else:
                self._every(a, ctx, done)
        self._start_timer(self._timer_name(a), a.every, fire)

    def _die(self) -> None:
        for name in list(self._timers):
            self._cancel(name)
        self.alive = False
