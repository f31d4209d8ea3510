"""State keys (what counts as the same screen) and the state graph built from a trace."""

from __future__ import annotations

import json
from xml.sax.saxutils import quoteattr

import networkx as nx

from crawler.graph import build_graph, export_graph
from crawler.perceive.scene import Scene
from crawler.state import state_key
from crawler.trace import Step, Trace

ATTRS = ('index="0" resource-id="{rid}" class="{cls}" package="com.example.a" content-desc="" checkable="false" '
         'checked="false" clickable="{click}" enabled="true" focusable="false" focused="false" scrollable="false" '
         'long-clickable="false" password="false" selected="false" bounds="[0,0][720,100]"')


def node(text: str = "", rid: str = "", cls: str = "android.widget.TextView", click: bool = False, inner: str = "") -> str:
    attrs = ATTRS.format(rid=rid, cls=cls, click=str(click).lower())
    return f"<node text={quoteattr(text)} {attrs}>{inner}</node>"


def screen(*children: str) -> str:
    root = node(cls="android.widget.FrameLayout", inner="".join(children))
    return f"<?xml version='1.0' encoding='UTF-8' standalone='yes' ?><hierarchy rotation=\"0\">{root}</hierarchy>"


def rows(n: int) -> list[str]:
    return [node(f"商品 {i} ¥{i * 10}", "com.example.a:id/item", "android.widget.LinearLayout", True) for i in range(n)]


def test_clock_counter_and_countdown_text_do_not_make_a_new_state():
    a = screen(node("09:41"), node("跳过 3", "com.example.a:id/skip", click=True))
    b = screen(node("09:42"), node("跳过 2", "com.example.a:id/skip", click=True))
    splash = Scene("splash_ad", text=["跳过 3"])
    assert state_key(a, splash, "com.example.a") == state_key(b, Scene("splash_ad", text=["跳过 2"]), "com.example.a")
    assert state_key(a) == state_key(b)


def test_a_longer_list_is_the_same_screen():
    assert state_key(screen(*rows(10))) == state_key(screen(*rows(12)))
    assert state_key(screen(*rows(10))) != state_key(screen(*rows(1)))


def test_different_dialogs_on_the_same_layout_are_different_states():
    layout = screen(node("title"), node("拒绝", click=True, cls="android.widget.Button"))
    camera = Scene("permission_dialog", permission="camera", text=["要允许拍摄照片和录制视频吗?"])
    location = Scene("permission_dialog", permission="location", text=["要允许获取此设备的位置信息吗?"])
    assert state_key(layout, camera) != state_key(layout, location)
    consent = Scene("consent_dialog", text=["用户协议与隐私政策"])
    ad = Scene("ad_popup", text=["限时特惠"])
    assert state_key(layout, consent) != state_key(layout, ad)


def test_different_screens_and_packages_differ():
    home = screen(node("首页", "com.example.a:id/tab_home", click=True))
    mine = screen(node("我的", "com.example.a:id/settings_list"), node("退出登录", click=True))
    assert state_key(home) != state_key(mine)
    assert state_key(home, None, "com.example.a") != state_key(home, None, "com.android.launcher3")


def _trace() -> Trace:
    steps, seq = [], 0

    def add(kind, t, **data):
        nonlocal seq
        seq += 1
        steps.append(Step(seq, t, kind, data))

    add("run_start", 0.0, app={"package": "com.example.a"})
    add("observation", 1.0, state="home", package="com.example.a", activity=".Main", scene={"kind": "app"},
        png="a" * 64, app_in_front=True)
    add("action", 1.0, type="tap", role="", target={"text": '"];\n evil [label="x'}, reason="explore")
    add("observation", 2.0, state="perm", package="com.android.permissioncontroller", activity=".Grant",
        scene={"kind": "permission_dialog"}, png="b" * 64, app_in_front=True)
    add("action", 2.0, type="tap", role="deny", target={"text": "拒绝"}, reason="deny location")
    add("event", 3.0, type="app_died", package="com.example.a")
    add("observation", 3.0, state="launcher", package="com.android.launcher3", activity=".Launcher",
        scene={"kind": "app"}, png=None, app_in_front=False)
    add("action", 3.0, type="launch", cold=True, reason="relaunch")
    add("observation", 4.0, state="home", package="com.example.a", activity=".Main", scene={"kind": "app"},
        png="a" * 64, app_in_front=True)
    return Trace(steps)


def test_graph_nodes_and_edges_follow_the_trace():
    graph = build_graph(_trace())
    assert set(graph.nodes) == {"home", "perm", "launcher"}
    assert graph.nodes["home"]["visits"] == 2 and graph.nodes["home"]["png"] == "a" * 64
    edges = {(u, v, d["role"] or d["type"]): d["outcome"] for u, v, d in graph.edges(data=True)}
    assert edges[("home", "perm", "tap")] == "new_state"
    assert edges[("perm", "launcher", "deny")] == "app_died"
    assert edges[("launcher", "home", "launch")] == "new_state"


def test_graph_exports_in_three_formats_and_hostile_labels_stay_data(tmp_path):
    graph = build_graph(_trace())
    data = json.loads(export_graph(graph, "json"))
    assert {"nodes", "links"} <= set(data) and len(data["links"]) == 3
    path = tmp_path / "g.graphml"
    path.write_text(export_graph(graph, "graphml"), encoding="utf-8")
    assert set(nx.read_graphml(path).nodes) == {"home", "perm", "launcher"}
    dot = export_graph(graph, "dot")
    assert dot.startswith("digraph") and dot.rstrip().endswith("}")
    assert "\n evil [" not in dot  # the app's text cannot close the label and add statements
    lines = [line for line in dot.splitlines() if "evil" in line]
    assert len(lines) == 1 and '\\"];' in lines[0]
