"""The uiautomator2 agent of a simulated device: the HTTP JSON-RPC server the real u2.jar runs on port 9008.

The real uiautomator2 client (3.7.1) opens one adb `tcp:9008` stream per request and sends
`GET /ping` (expects the body `pong`) or `POST /jsonrpc/0` with {"jsonrpc": "2.0", "id": 1, "method", "params"};
params is a list (positional) or {} when there are none. Errors carry the Java exception name in the message:
the client maps "uiautomator.UiObjectNotFoundException" to UiObjectNotFoundError.
Waiting (waitForExists / waitUntilGone timeouts) moves the device's virtual clock by the time waited, and lets a
quarter of it pass in real time, so that a client's watcher threads get their turn as on a phone.
"""

from __future__ import annotations

import base64
import io
import itertools
import json
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from emulator.sim.device_api import UiDevice
from emulator.sim.render_png import render_png
from emulator.sim.render_xml import render_xml
from emulator.sim.selector import Element, SelectorError, Tree, describe, find_all

log = logging.getLogger(__name__)

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 16 * 1024 * 1024
POLL_SECONDS = 1.0  # uiautomator polls a selector about once a second while waiting
REAL_TIME_SHARE = 0.25  # of each second a selector wait polls, this much passes in real time (watchers' turn)
LONG_CLICK_MS = 500
SWIPE_STEP_SECONDS = 0.005  # uiautomator injects one move event per step, ~5 ms apart

# JSON-RPC error codes of the u2 server (jsonrpc4j)
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
PARSE_ERROR = -32700
UI_OBJECT_NOT_FOUND = -32002
SERVER_ERROR = -32001

ACTION_DOWN, ACTION_UP, ACTION_MOVE = 0, 1, 2
OBJECT_PREFIX = "uiobject-"
MAX_OBJECTS = 1000  # named objects the agent remembers (oldest forgotten first)
FINGER_HALF_WIDTH = 20  # UiObject.FINGER_TOUCH_HALF_WIDTH
SCROLL_STEPS = 55  # UiScrollable's default swipe steps
FLING_SWIPES = 3  # a fling travels about three swipes' worth
MAX_SCROLL_SWIPES = 30  # UiScrollable.getMaxSearchSwipes()


class RpcError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def not_found(selector: Any) -> RpcError:
    what = describe(selector) if isinstance(selector, dict) else f"UiObject {str(selector)[:40]}"
    return RpcError(UI_OBJECT_NOT_FOUND, f"uiautomator.UiObjectNotFoundException: {what}")


@dataclass
class AgentState:
    """What the agent remembers between calls on one device (touch gestures, clipboard)."""

    touch_down: tuple[float, float] | None = None
    touch_last: tuple[float, float] | None = None
    clipboard: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    objects: dict[str, Callable[[Tree], Element | None]] = field(default_factory=dict)  # named UiObjects
    counter: int = 0


_states: dict[int, AgentState] = {}


def _state(device: UiDevice) -> AgentState:
    return _states.setdefault(id(device), AgentState())


# ---------------------------------------------------------------- object info

def obj_info(tree: Tree, element: Element) -> dict:
    """u2's objInfo dict for one element."""
    node = element.node
    x1, y1, x2, y2 = node.bounds
    vx1, vy1, vx2, vy2 = tree.visible_bounds(element)
    return {
        "bounds": {"bottom": y2, "left": x1, "right": x2, "top": y1},
        "childCount": len(element.children(tree)),
        "className": element.class_name,
        "contentDescription": element.description or None,
        "packageName": element.package_name,
        "resourceName": element.resource_id or None,
        "text": element.text,
        "visibleBounds": {"bottom": vy2, "left": vx1, "right": vx2, "top": vy1},
        "checkable": node.checkable,
        "checked": node.checked,
        "clickable": node.clickable,
        "enabled": node.enabled,
        "focusable": node.focusable,
        "focused": node.focused,
        "longClickable": node.long_clickable,
        "scrollable": node.scrollable,
        "selected": node.selected,
    }


def _center(tree: Tree, element: Element) -> tuple[float, float]:
    x1, y1, x2, y2 = tree.visible_bounds(element)
    return (x1 + x2) / 2, (y1 + y2) / 2


# ---------------------------------------------------------------- methods

class Agent:
    """The JSON-RPC methods, bound to one device."""

    def __init__(self, device: UiDevice) -> None:
        self.device = device
        self.state = _state(device)

    def tree(self) -> Tree:
        return Tree(self.device.screen())

    # --- selectors, and the UiObjects the server hands out by name (childByText, getParent, ...)
    def _find_all(self, tree: Tree, selector: Any) -> list[Element]:
        if isinstance(selector, str):
            resolve = self.state.objects.get(selector)
            if resolve is None:
                raise RpcError(UI_OBJECT_NOT_FOUND, f"uiautomator.UiObjectNotFoundException: no object {selector[:40]}")
            found = resolve(tree)
            return [found] if found is not None else []
        return find_all(tree, _selector(selector))

    def _find(self, tree: Tree, selector: Any) -> Element | None:
        found = self._find_all(tree, selector)
        return found[0] if found else None

    def _name(self, resolve: Callable[[Tree], Element | None]) -> str:
        self.state.counter += 1
        name = f"{OBJECT_PREFIX}{self.state.counter}"
        self.state.objects[name] = resolve
        while len(self.state.objects) > MAX_OBJECTS:
            self.state.objects.pop(next(iter(self.state.objects)))
        return name

    def _child_by(self, selector: Any, child: dict, match: Callable[[Tree, Element], bool], what: str) -> str:
        """UiCollection.getChildBy*: the first child matching `child` under the object for which `match` holds;
        the answer is a named object, looked up again at each use."""
        def rows(tree: Tree) -> list[Element]:
            parent = self._find(tree, selector)
            if parent is None:
                return []
            pool = {id(e) for e in tree.descendants(parent)}
            return [e for e in find_all(tree, _selector(child)) if id(e) in pool]

        tree = self.tree()
        index = next((i for i, row in enumerate(rows(tree)) if match(tree, row)), None)
        if index is None:
            raise RpcError(UI_OBJECT_NOT_FOUND, f"uiautomator.UiObjectNotFoundException: {what}")

        def resolve(now: Tree) -> Element | None:
            found = rows(now)
            return found[index] if index < len(found) else None
        return self._name(resolve)

    def childByText(self, selector: Any, child: dict, text: str, allow_scroll: bool = False) -> str:
        def match(tree: Tree, row: Element) -> bool:
            return row.text == text or any(e.text == text for e in tree.descendants(row))
        return self._child_by(selector, child, match, f"child with text {text!r}")

    def childByDescription(self, selector: Any, child: dict, desc: str, allow_scroll: bool = False) -> str:
        def match(tree: Tree, row: Element) -> bool:
            return row.description == desc or any(e.description == desc for e in tree.descendants(row))
        return self._child_by(selector, child, match, f"child with description {desc!r}")

    def childByInstance(self, selector: Any, child: dict, instance: int) -> str:
        seen = [0]

        def match(tree: Tree, row: Element) -> bool:
            seen[0] += 1
            return seen[0] - 1 == int(instance)
        return self._child_by(selector, child, match, f"child instance {instance}")

    def getParent(self, selector: Any) -> str:
        tree = self.tree()
        element = self._find(tree, selector)
        if element is None or element.parent is None:
            raise not_found(selector)
        chain: list[int] = []  # the parent's place: child indexes from its window's root
        node = element.parent
        while node.parent is not None:
            chain.append(node.index)
            node = node.parent
        window_root = node.order

        def resolve(now: Tree) -> Element | None:
            current = next((e for e in now.elements if e.order == window_root and e.parent is None), None)
            for index in reversed(chain):
                kids = current.children(now) if current is not None else []
                current = kids[index] if index < len(kids) else None
            return current
        return self._name(resolve)

    def dragTo(self, selector: Any, *target: Any) -> bool:
        """Drag the object's centre to (x, y) or to another object's centre: a slow swipe."""
        tree, element = self.require(selector)
        sx, sy = _center(tree, element)
        if target and isinstance(target[0], (dict, str)):
            other = self._find(tree, target[0])
            if other is None:
                raise not_found(target[0])
            ex, ey = _center(tree, other)
            steps = int(target[1]) if len(target) > 1 else 100
        else:
            ex, ey = float(target[0]), float(target[1])
            steps = int(target[2]) if len(target) > 2 else 100
        self.device.swipe(sx, sy, ex, ey, max(1, steps) * SWIPE_STEP_SECONDS)
        return True

    def require(self, selector: dict) -> tuple[Tree, Element]:
        tree = self.tree()
        element = self._find(tree, selector)
        if element is None:
            raise not_found(selector)
        return tree, element

    def wait(self, selector: dict, timeout_ms: float, gone: bool) -> bool:
        """Poll the selector, letting device time pass between polls, up to `timeout_ms` of device time."""
        remaining = max(0.0, float(timeout_ms) / 1000.0)
        while True:
            present = self._find(self.tree(), selector) is not None
            if present != gone:
                return True
            if remaining <= 0:
                return False
            step = min(POLL_SECONDS, remaining)
            # A phone blocks this call in real time; client-side watchers (threads that dump and click every 1-2 s)
            # act meanwhile. The simulator lets a fraction of each polled second pass for real, then moves its clock.
            time.sleep(step * REAL_TIME_SHARE)
            self.device.advance(step)
            remaining -= step

    # --- device
    def deviceInfo(self) -> dict:  # JSON-RPC method names are the u2 server's (camelCase)
        return self.device.device_info()

    def dumpWindowHierarchy(self, compressed: bool = False, max_depth: int = 50, *_: Any) -> str:
        depth = int(max_depth) if max_depth else 1000
        xml = render_xml(self.device.screen(), max_depth=max(1, depth))
        fault = getattr(self.device, "take_fault", lambda name: None)("hierarchy")
        return xml[: len(xml) // 2] if fault == "truncated" else "" if fault == "empty" else xml

    def takeScreenshot(self, scale: float = 1.0, quality: int = 80) -> str:
        data = render_png(self.device.screen())
        if scale and float(scale) != 1.0:
            image = Image.open(io.BytesIO(data))
            size = (max(1, int(image.width * float(scale))), max(1, int(image.height * float(scale))))
            buffer = io.BytesIO()
            image.resize(size).save(buffer, format="PNG", compress_level=1)
            data = buffer.getvalue()
        return base64.b64encode(data).decode("ascii")

    # --- input by coordinates (or by selector, the old u2 form)
    def click(self, *params: Any) -> bool:
        if params and isinstance(params[0], dict):
            tree, element = self.require(params[0])
            x, y = _center(tree, element)
            self.device.tap(x, y)
            return True
        x, y = float(params[0]), float(params[1])
        duration_ms = float(params[2]) if len(params) > 2 and params[2] is not None else 0
        self.device.tap(x, y, long=duration_ms >= LONG_CLICK_MS)
        if duration_ms > 0:
            self.device.advance(duration_ms / 1000.0)
        return True

    def longClick(self, *params: Any) -> bool:
        if params and isinstance(params[0], dict):
            tree, element = self.require(params[0])
            x, y = _center(tree, element)
        else:
            x, y = float(params[0]), float(params[1])
        self.device.tap(x, y, long=True)
        return True

    def pressKey(self, key: str) -> bool:
        return bool(self.device.key(str(key).lower()))

    def pressKeyCode(self, code: int, meta: int = 0) -> bool:
        return bool(self.device.key(int(code)))

    def swipe(self, *params: Any) -> bool:
        if params and isinstance(params[0], dict):
            return self._swipe_object(params[0], str(params[1]), int(params[-1]) if len(params) > 2 else 10)
        x1, y1, x2, y2 = (float(v) for v in params[:4])
        steps = int(params[4]) if len(params) > 4 else 10
        self.device.swipe(x1, y1, x2, y2, max(1, steps) * SWIPE_STEP_SECONDS)
        return True

    def _swipe_object(self, selector: dict, direction: str, steps: int) -> bool:
        tree, element = self.require(selector)
        x1, y1, x2, y2 = tree.visible_bounds(element)
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        dx, dy = (x2 - x1) * 0.4, (y2 - y1) * 0.4
        moves = {"up": (cx, cy + dy, cx, cy - dy), "down": (cx, cy - dy, cx, cy + dy),
                 "left": (cx + dx, cy, cx - dx, cy), "right": (cx - dx, cy, cx + dx, cy)}
        if direction not in moves:
            raise RpcError(INVALID_PARAMS, f"java.lang.IllegalArgumentException: bad direction {direction!r}")
        self.device.swipe(*moves[direction], max(1, steps) * SWIPE_STEP_SECONDS)
        return True

    def swipePoints(self, points: list, steps: int = 10) -> bool:
        xy = [float(v) for v in points]
        pairs = list(zip(xy[0::2], xy[1::2], strict=False))
        if len(pairs) < 2:
            return False
        per_segment = max(1, int(steps)) * SWIPE_STEP_SECONDS
        for (ax, ay), (bx, by) in itertools.pairwise(pairs):
            self.device.swipe(ax, ay, bx, by, per_segment)
        return True

    def drag(self, sx: float, sy: float, ex: float, ey: float, steps: int = 100) -> bool:
        self.device.swipe(float(sx), float(sy), float(ex), float(ey), max(1, int(steps)) * SWIPE_STEP_SECONDS)
        return True

    def injectInputEvent(self, action: int, x: float, y: float, meta: int = 0) -> bool:
        point = (float(x), float(y))
        if action == ACTION_DOWN:
            self.state.touch_down = self.state.touch_last = point
        elif action == ACTION_MOVE:
            self.state.touch_last = point
        elif action == ACTION_UP:
            start = self.state.touch_down or point
            self.state.touch_down = self.state.touch_last = None
            if abs(start[0] - point[0]) < 10 and abs(start[1] - point[1]) < 10:
                self.device.tap(*start)
            else:
                self.device.swipe(start[0], start[1], point[0], point[1], 0.1)
        return True

    # --- two-finger gestures (UiObject.pinchIn / pinchOut / performTwoPointerGesture)
    def _two_finger(self, start1, start2, end1, end2) -> bool:
        pinch = getattr(self.device, "pinch", None)
        if pinch is None:
            return False
        pinch(start1, start2, end1, end2)
        return True

    def _pinch(self, selector: dict, percent: float, inward: bool) -> bool:
        tree, element = self.require(selector)
        x1, y1, x2, y2 = tree.visible_bounds(element)
        if x2 - x1 <= 2 * FINGER_HALF_WIDTH:
            raise RpcError(SERVER_ERROR, "java.lang.IllegalStateException: Object width is too small for operation")
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        reach = (x2 - x1) / 2 * max(0.0, min(float(percent), 100.0)) / 100
        outer = ((cx - reach, cy), (cx + reach, cy))
        inner = ((cx - FINGER_HALF_WIDTH, cy), (cx + FINGER_HALF_WIDTH, cy))
        start, end = (outer, inner) if inward else (inner, outer)
        return self._two_finger(start[0], start[1], end[0], end[1])

    def pinchIn(self, selector: dict, percent: float = 100, steps: int = 50) -> bool:
        return self._pinch(selector, percent, inward=True)

    def pinchOut(self, selector: dict, percent: float = 100, steps: int = 50) -> bool:
        return self._pinch(selector, percent, inward=False)

    def gesture(self, selector: dict, start1: dict, start2: dict, end1: dict, end2: dict, steps: int = 100) -> bool:
        self.require(selector)

        def xy(point: dict) -> tuple[float, float]:
            return float(point["x"]), float(point["y"])
        return self._two_finger(xy(start1), xy(start2), xy(end1), xy(end2))

    # --- selectors
    def waitForExists(self, selector: dict, timeout: float = 0) -> bool:
        return self.wait(selector, timeout, gone=False)

    def waitUntilGone(self, selector: dict, timeout: float = 0) -> bool:
        return self.wait(selector, timeout, gone=True)

    def exist(self, selector: dict) -> bool:
        return self._find(self.tree(), selector) is not None

    def count(self, selector: dict) -> int:
        return len(self._find_all(self.tree(), selector))

    def objInfo(self, selector: dict) -> dict:
        tree, element = self.require(selector)
        return obj_info(tree, element)

    def objInfoOfAllInstances(self, selector: dict) -> list[dict]:
        tree = self.tree()
        return [obj_info(tree, element) for element in self._find_all(tree, selector)]

    def getText(self, selector: dict) -> str:
        _, element = self.require(selector)
        return element.text

    def setText(self, selector: dict, text: str) -> bool:
        tree, element = self.require(selector)
        return bool(self.device.set_text(*_center(tree, element), str(text)))

    def clearTextField(self, selector: dict) -> bool:
        tree, element = self.require(selector)
        return bool(self.device.set_text(*_center(tree, element), ""))

    # --- scrolling, as UiScrollable does it: swipes inside the scrollable's bounds; "false" = nothing moved (the end)
    def _screen_signature(self) -> str:
        return render_xml(self.device.screen(), max_depth=1000)

    def _scroll_once(self, selector: dict, vertical: bool, forward: bool, fling: bool = False) -> bool:
        tree, element = self.require(selector)
        x1, y1, x2, y2 = tree.visible_bounds(element)
        before = self._screen_signature()
        for _ in range(FLING_SWIPES if fling else 1):
            if vertical:
                dead = (y2 - y1) * 0.1  # UiScrollable's swipe dead zone
                top, bottom, cx = y1 + dead, y2 - dead, (x1 + x2) / 2
                points = (cx, bottom, cx, top) if forward else (cx, top, cx, bottom)
            else:
                dead = (x2 - x1) * 0.1
                left, right, cy = x1 + dead, x2 - dead, (y1 + y2) / 2
                points = (right, cy, left, cy) if forward else (left, cy, right, cy)
            self.device.swipe(*points, SCROLL_STEPS * SWIPE_STEP_SECONDS)
        return self._screen_signature() != before

    def scrollForward(self, selector: dict, vertical: bool = True, steps: int = 55) -> bool:
        return self._scroll_once(selector, bool(vertical), forward=True)

    def scrollBackward(self, selector: dict, vertical: bool = True, steps: int = 55) -> bool:
        return self._scroll_once(selector, bool(vertical), forward=False)

    def _scroll_to_edge(self, selector: dict, vertical: bool, forward: bool, max_swipes: int, fling: bool) -> bool:
        for _ in range(max(1, int(max_swipes))):
            if not self._scroll_once(selector, vertical, forward, fling):
                return True
        return False

    def scrollToBeginning(self, selector: dict, vertical: bool = True, max_swipes: int = 500, steps: int = 55) -> bool:
        return self._scroll_to_edge(selector, bool(vertical), False, max_swipes, fling=False)

    def scrollToEnd(self, selector: dict, vertical: bool = True, max_swipes: int = 500, steps: int = 55) -> bool:
        return self._scroll_to_edge(selector, bool(vertical), True, max_swipes, fling=False)

    def flingForward(self, selector: dict, vertical: bool = True) -> bool:
        return self._scroll_once(selector, bool(vertical), forward=True, fling=True)

    def flingBackward(self, selector: dict, vertical: bool = True) -> bool:
        return self._scroll_once(selector, bool(vertical), forward=False, fling=True)

    def flingToBeginning(self, selector: dict, vertical: bool = True, max_swipes: int = 500) -> bool:
        return self._scroll_to_edge(selector, bool(vertical), False, max_swipes, fling=True)

    def flingToEnd(self, selector: dict, vertical: bool = True, max_swipes: int = 500) -> bool:
        return self._scroll_to_edge(selector, bool(vertical), True, max_swipes, fling=True)

    def scrollTo(self, selector: dict, target: dict, vertical: bool = True) -> bool:
        """UiScrollable.scrollIntoView: found as is, else from the beginning forward until it shows or the end."""
        if self.exist(target):
            return True
        self._scroll_to_edge(selector, bool(vertical), False, MAX_SCROLL_SWIPES, fling=False)
        for _ in range(MAX_SCROLL_SWIPES):
            if self.exist(target):
                return True
            if not self._scroll_once(selector, bool(vertical), forward=True):
                break
        return self.exist(target)

    # --- system odds and ends: accepted, as a device with nothing to report would
    def getLastToast(self, *_: Any) -> str | None:
        last = getattr(self.device, "last_toast", None)  # a UiDevice that shows no toasts has none
        return last() if last else None

    def clearLastToast(self) -> bool:
        if hasattr(self.device, "set_last_toast"):
            self.device.set_last_toast(None)
        return True

    def makeToast(self, text: str = "", duration: int = 1000) -> bool:
        if hasattr(self.device, "set_last_toast"):
            self.device.set_last_toast(str(text))
        return True

    def getLastTraversedText(self) -> None:
        return None

    def clearLastTraversedText(self) -> None:
        return None

    def setOrientation(self, orientation: str = "natural") -> None:
        return None

    def freezeRotation(self, freeze: bool = True) -> None:
        return None

    def wakeUp(self) -> None:
        return None

    def sleep(self) -> None:
        return None

    def openNotification(self) -> bool:
        return False

    def openQuickSettings(self) -> bool:
        return False

    def getClipboard(self) -> str:
        return self.state.clipboard

    def setClipboard(self, label: str = "", text: str = "") -> None:
        self.state.clipboard = str(text)

    def clearInputText(self) -> bool:
        return bool(self.device.type_text("", replace=True))

    def pasteClipboard(self) -> bool:
        return bool(self.device.type_text(self.state.clipboard))


def _selector(value: Any) -> dict:
    if not isinstance(value, dict):
        raise RpcError(INVALID_PARAMS, f"java.lang.IllegalArgumentException: expected a selector object, got {value!r}")
    return value


def _method(agent: Agent, name: str) -> Callable[..., Any] | None:
    if name.startswith("_") or not name.isidentifier():
        return None
    attribute = getattr(Agent, name, None)
    if not callable(attribute) or name in {"tree", "require", "wait"}:
        return None
    return getattr(agent, name)


def handle_rpc(device: UiDevice, payload: Any) -> dict:
    """One JSON-RPC request object -> the response object (never raises)."""
    if not isinstance(payload, dict):
        return {"jsonrpc": "2.0", "id": None, "error": {"code": PARSE_ERROR, "message": "Parse error"}}
    request_id = payload.get("id")
    name = str(payload.get("method", ""))
    params = payload.get("params")
    args = params if isinstance(params, list) else []
    kwargs = params if isinstance(params, dict) else {}
    method = _method(Agent(device), name)
    try:
        if method is None:
            raise RpcError(METHOD_NOT_FOUND, f"Method not found: {name}")
        try:
            result = method(*args, **kwargs)
        except TypeError as error:
            raise RpcError(INVALID_PARAMS, f"Invalid params for {name}: {error}") from error
        except SelectorError as error:
            raise RpcError(INVALID_PARAMS, f"java.lang.IllegalArgumentException: {error}") from error
        except (ValueError, IndexError) as error:
            raise RpcError(INVALID_PARAMS, f"Invalid params for {name}: {error}") from error
    except RpcError as error:
        return {"jsonrpc": "2.0", "id": request_id,
                "error": {"code": error.code, "message": error.message, "data": error.message}}
    except Exception as error:  # a device fault must come back as a JSON-RPC error, not a dropped connection
        log.exception("u2 agent: %s failed", name)
        message = f"java.lang.RuntimeException: {type(error).__name__}: {error}"
        return {"jsonrpc": "2.0", "id": request_id, "error": {"code": SERVER_ERROR, "message": message, "data": message}}
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


# ---------------------------------------------------------------- HTTP

@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class _Reader:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def _fill(self) -> bool:
        chunk = self.sock.recv(65536)
        if not chunk:
            return False
        self.buffer += chunk
        return True

    def read_request(self) -> Request | None:
        while b"\r\n\r\n" not in self.buffer:
            if len(self.buffer) > MAX_HEADER_BYTES or not self._fill():
                return None
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) < 2:
            return None
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or 0)
        if length < 0 or length > MAX_BODY_BYTES:
            return None
        while len(self.buffer) < length:
            if not self._fill():
                return None
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return Request(parts[0].upper(), parts[1], headers, body)


def _response(status: str, body: bytes, content_type: str, close: bool) -> bytes:
    head = (f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            f"Connection: {'close' if close else 'keep-alive'}\r\n\r\n")
    return head.encode("ascii") + body


def respond(device: UiDevice, request: Request, close: bool) -> bytes:
    path = request.path.split("?", 1)[0]
    if request.method == "GET" and path == "/ping":
        return _response("200 OK", b"pong", "text/plain; charset=utf-8", close)
    if request.method == "GET" and path in ("/info", "/version"):
        info = device.device_info() if path == "/info" else {"version": "2.3.3"}
        return _response("200 OK", json.dumps(info).encode(), "application/json; charset=utf-8", close)
    if path == "/jsonrpc/0" and request.method == "POST":
        try:
            payload = json.loads(request.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            payload = None
        answer = handle_rpc(device, payload)
        return _response("200 OK", json.dumps(answer, ensure_ascii=False).encode("utf-8"),
                         "application/json; charset=utf-8", close)
    return _response("404 Not Found", b"Not Found", "text/plain; charset=utf-8", close)


def serve_connection(sock: socket.socket, device: UiDevice) -> None:
    """Serve HTTP/1.1 requests on `sock` until the peer closes (or asks to close)."""
    reader = _Reader(sock)
    try:
        while True:
            request = reader.read_request()
            if request is None:
                return
            close = request.headers.get("connection", "").lower() == "close"
            sock.sendall(respond(device, request, close))
            if close:
                return
    except OSError as error:  # the client went away mid-request: nothing to answer
        log.debug("u2 agent connection ended: %s", error)
    finally:
        try:
            sock.close()
        except OSError:
            pass
