"""The u2 agent, driven by the real uiautomator2 client code (its HTTP and JSON-RPC layer) over socket pairs."""

from __future__ import annotations

import base64
import io
import socket
import threading

import pytest
from lxml import etree
from PIL import Image
from uiautomator2._selector import Selector
from uiautomator2.core import _http_request, _jsonrpc_call
from uiautomator2.exceptions import RPCUnknownError, UiObjectNotFoundError

from emulator.sim.u2agent import serve_connection
from emulator.sim.view import Screen, Style, ViewNode, Window


class StandInDevice:
    """A UiDevice with one screen: a title, an OK button, a text field; a timer shows a banner after 3 s."""

    def __init__(self) -> None:
        self.clock = 1_700_000_000.0
        self.start = self.clock
        self.taps: list[tuple[float, float, bool]] = []
        self.keys: list[str | int] = []
        self.swipes: list[tuple] = []
        self.typed: list[tuple[float, float, str]] = []

    def screen(self) -> Screen:
        children = [
            ViewNode(cls="android.widget.TextView", bounds=(0, 48, 720, 160), text="首页",
                     resource_id="com.demo:id/title"),
            ViewNode(cls="android.widget.Button", bounds=(40, 300, 680, 400), text="OK", clickable=True,
                     resource_id="com.demo:id/ok"),
            ViewNode(cls="android.widget.EditText", bounds=(40, 420, 680, 500), text="", clickable=True,
                     focusable=True, resource_id="com.demo:id/input"),
            ViewNode(cls="android.webkit.WebView", bounds=(0, 600, 720, 900), pixel_only=True,
                     children=[ViewNode(cls="android.widget.TextView", bounds=(0, 600, 720, 700), text="广告")]),
        ]
        if self.clock - self.start >= 3:
            children.append(ViewNode(cls="android.widget.TextView", bounds=(0, 1000, 720, 1100), text="Banner"))
        root = ViewNode(bounds=(0, 0, 720, 1600), style=Style(background="#ffffff"), children=children)
        return Screen(720, 1600, [Window("com.demo", "com.demo.Main", root)], status_bar_height=48)

    def device_info(self) -> dict:
        return {"currentPackageName": "com.demo", "displayWidth": 720, "displayHeight": 1600, "displayRotation": 0,
                "displaySizeDpX": 360, "displaySizeDpY": 800, "productName": "standin", "screenOn": True,
                "sdkInt": 33, "naturalOrientation": True}

    def tap(self, x: float, y: float, long: bool = False) -> None:
        self.taps.append((x, y, long))

    def key(self, key: str | int) -> bool:
        self.keys.append(key)
        return True

    def swipe(self, x1: float, y1: float, x2: float, y2: float, duration: float) -> None:
        self.swipes.append((x1, y1, x2, y2, duration))

    def set_text(self, x: float, y: float, text: str) -> bool:
        self.typed.append((x, y, text))
        return True

    def advance(self, seconds: float) -> None:
        self.clock += seconds

    def now(self) -> float:
        return self.clock


class AdbStandIn:
    """Just enough of adbutils.AdbDevice for uiautomator2's AdbHTTPConnection: each connection is a socket pair
    whose far end is served by the agent in a thread, as the adb transport does for tcp:9008."""

    def __init__(self, device: StandInDevice) -> None:
        self.device = device
        self.threads: list[threading.Thread] = []

    def create_connection(self, network, port):
        client, server = socket.socketpair()
        thread = threading.Thread(target=serve_connection, args=(server, self.device), daemon=True)
        thread.start()
        self.threads.append(thread)
        return client


@pytest.fixture
def device() -> StandInDevice:
    return StandInDevice()


@pytest.fixture
def adb(device) -> AdbStandIn:
    return AdbStandIn(device)


def rpc(adb: AdbStandIn, method: str, *params):
    return _jsonrpc_call(adb, 9008, method, list(params) if params else {}, 10, False)


def test_ping_answers_pong(adb):
    assert _http_request(adb, 9008, "GET", "/ping").content == b"pong"


def test_keep_alive_serves_several_requests_on_one_connection(device):
    client, server = socket.socketpair()
    thread = threading.Thread(target=serve_connection, args=(server, device), daemon=True)
    thread.start()
    for _ in range(3):
        client.sendall(b"GET /ping HTTP/1.1\r\nHost: localhost\r\n\r\n")
        reply = b""
        while not reply.endswith(b"pong"):
            reply += client.recv(4096)
        assert reply.startswith(b"HTTP/1.1 200 OK")
    client.close()
    thread.join(timeout=5)
    assert not thread.is_alive()  # returns when the peer closes


def test_device_info(adb):
    assert rpc(adb, "deviceInfo")["displayWidth"] == 720


def test_dump_window_hierarchy(adb):
    xml = rpc(adb, "dumpWindowHierarchy", False, 50)
    root = etree.fromstring(xml.encode("utf-8"))
    assert root.find(".//node[@resource-id='com.demo:id/ok']").get("text") == "OK"
    assert "广告" not in xml  # pixel-only content is not in the hierarchy


def test_take_screenshot_is_an_image_u2_can_open(adb):
    image = Image.open(io.BytesIO(base64.b64decode(rpc(adb, "takeScreenshot", 1, 80))))
    assert image.size == (720, 1600)


def test_click_by_coordinates_taps_the_device(adb, device):
    assert rpc(adb, "click", 100.5, 200.0) is True
    rpc(adb, "click", 10, 20, 800)
    assert device.taps == [(100.5, 200.0, False), (10.0, 20.0, True)]


def test_keys_and_swipes_reach_the_device(adb, device):
    rpc(adb, "pressKey", "back")
    rpc(adb, "pressKeyCode", 3)
    rpc(adb, "swipe", 100, 1000, 100, 200, 20)
    assert device.keys == ["back", 3]
    assert device.swipes[0][:4] == (100.0, 1000.0, 100.0, 200.0)


def test_selector_queries(adb):
    assert rpc(adb, "exist", Selector(text="OK")) is True
    assert rpc(adb, "exist", Selector(text="广告")) is False  # hidden in a pixel-only view
    assert rpc(adb, "count", Selector(className="android.widget.TextView")) == 1
    assert rpc(adb, "count", Selector(textMatches="O.")) == 1
    assert rpc(adb, "getText", Selector(resourceId="com.demo:id/title")) == "首页"
    info = rpc(adb, "objInfo", Selector(text="OK"))
    assert info["bounds"] == {"left": 40, "top": 300, "right": 680, "bottom": 400}
    assert info["className"] == "android.widget.Button" and info["clickable"] is True
    assert info["resourceName"] == "com.demo:id/ok" and info["packageName"] == "com.demo"
    child = Selector(resourceIdMatches=".*").child(text="OK")
    assert rpc(adb, "exist", child) is True
    sibling = Selector(text="OK").sibling(resourceId="com.demo:id/title")
    assert rpc(adb, "getText", sibling) == "首页"


def test_obj_info_not_found_raises_u2_not_found(adb):
    with pytest.raises(UiObjectNotFoundError) as caught:
        rpc(adb, "objInfo", Selector(text="Nope"))
    assert "uiautomator.UiObjectNotFoundException" in str(caught.value)


def test_wait_for_exists_moves_device_time_not_wall_time(adb, device):
    assert rpc(adb, "waitForExists", Selector(text="Missing"), 20_000) is False
    assert device.now() - device.start == pytest.approx(20.0)


def test_wait_for_exists_returns_when_a_timer_shows_the_element(adb, device):
    assert rpc(adb, "waitForExists", Selector(text="Banner"), 10_000) is True
    assert 3 <= device.now() - device.start < 10


def test_wait_until_gone_on_a_present_element_times_out(adb, device):
    assert rpc(adb, "waitUntilGone", Selector(text="OK"), 2_000) is False
    assert device.now() - device.start == pytest.approx(2.0)


def test_set_text_types_into_the_field(adb, device):
    assert rpc(adb, "setText", Selector(resourceId="com.demo:id/input"), "hello") is True
    assert device.typed == [(360.0, 460.0, "hello")]


def test_unknown_method_is_a_json_rpc_error(adb):
    with pytest.raises(RPCUnknownError, match="-32601"):
        rpc(adb, "teleport")


def test_get_last_toast_is_null(adb):
    assert rpc(adb, "getLastToast") is None
