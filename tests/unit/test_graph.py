"""The state graph built from a trace, its transition outcomes, and its three export formats with hostile app text."""

from __future__ import annotations

import io
import json
import re

import networkx as nx
import pytest

from crawler.graph import UnknownGraphFormat, build_graph, export_graph, graph_command
from crawler.store import RunStore
from crawler.trace import Step, Trace

APP = "com.example.a"
HOSTILE = '"];\n evil [label="x'
PNG_A, PNG_B = "a" * 64, "b" * 64


def observation(state: str, package: str = APP, kind: str = "app", png: str | None = PNG_A, front: bool = True) -> dict:
    return {"state": state, "package": package, "activity": f"{package}.Main", "scene": {"kind": kind}, "png": png,
            "xml": "c" * 64, "app_in_front": front}


STEPS = [
    ("run_start", {"app": {"package": APP}}),
    ("action", {"type": "launch", "cold": True}),  # before any observation: no edge
    ("observation", observation("home", png=None)),
    ("action", {"type": "tap", "role": "", "target": {"text": HOSTILE, "bounds": [0, 0, 9, 9]}, "reason": "explore"}),
    ("observation", observation("perm", "com.android.permissioncontroller", "permission_dialog", PNG_B)),
    ("action", {"type": "tap", "role": "deny", "scene": "permission_dialog", "permission": "camera",
                "target": {"text": "拒绝"}, "reason": "deny camera"}),
    ("event", {"type": "app_died", "package": APP, "source": "poll"}),
    ("recovery", {"type": "died", "detail": "gone"}),
    ("observation", observation("launcher", "com.android.launcher3", front=False)),
    ("action", {"type": "launch", "cold": True, "reason": "relaunch", "user_like": False}),
    ("observation", observation("home")),
    ("action", {"type": "tap", "target": {"text": "刷新"}}),
    ("event", {"type": "proc_died", "package": "com.other.app"}),  # another app's death is not our outcome
    ("observation", observation("home")),
    ("action", {"type": "tap", "target": {"text": "分享"}}),
    ("recovery", {"type": "left_app", "detail": "com.tencent.mm in front"}),
    ("observation", observation("wechat", "com.tencent.mm")),
    ("action", {"type": "back"}),
    ("event", {"type": "crash", "package": APP, "raw": "FATAL EXCEPTION \x00\x1b[31m"}),
    ("observation", observation("stopped", "android", "system_dialog")),
    ("action", {"type": "tap", "role": "close_app"}),  # the run ended before anything was observed after it
]


def synthetic_trace() -> Trace:
    return Trace([Step(seq, float(seq), kind, data) for seq, (kind, data) in enumerate(STEPS, start=1)])


def edges_by_seq(graph: nx.MultiDiGraph) -> dict[int, tuple[str, str, dict]]:
    return {data["seq"]: (u, v, data) for u, v, data in graph.edges(data=True)}


def test_nodes_are_the_observed_states_with_their_first_screenshot_and_visits():
    graph = build_graph(synthetic_trace())
    assert list(graph.nodes) == ["home", "perm", "launcher", "wechat", "stopped"]
    home = graph.nodes["home"]
    assert home["visits"] == 3 and home["first_seq"] == 3 and home["png"] == PNG_A  # the first png seen, not None
    assert graph.nodes["perm"]["scene"] == "permission_dialog"
    assert graph.nodes["perm"]["package"] == "com.android.permissioncontroller"
    assert graph.graph["package"] == APP


def test_edges_are_the_actions_between_observations_with_their_outcomes():
    edges = edges_by_seq(build_graph(synthetic_trace()))
    assert sorted(edges) == [4, 6, 10, 12, 15, 18]  # not the launch before the first look, not the last tap
    assert edges[4][:2] == ("home", "perm") and edges[4][2]["outcome"] == "new_state"
    assert edges[6][:2] == ("perm", "launcher") and edges[6][2]["outcome"] == "app_died"
    assert edges[6][2]["role"] == "deny" and edges[6][2]["permission"] == "camera" and edges[6][2]["text"] == "拒绝"
    assert edges[10][2]["outcome"] == "new_state" and edges[10][2]["user_like"] is False
    assert edges[12][:2] == ("home", "home") and edges[12][2]["outcome"] == "same_state"
    assert edges[15][2]["outcome"] == "left_app"
    assert edges[18][:2] == ("wechat", "stopped") and edges[18][2]["outcome"] == "crashed"
    assert edges[4][2]["t"] == 4.0 and edges[4][2]["reason"] == "explore"


def test_json_export_is_node_link_data_with_no_nulls():
    text = export_graph(build_graph(synthetic_trace()), "json")
    data = json.loads(text)
    assert {"nodes", "links"} <= set(data)
    assert {n["id"] for n in data["nodes"]} == {"home", "perm", "launcher", "wechat", "stopped"}
    assert len(data["links"]) == 6
    assert "null" not in text and "NaN" not in text
    back = nx.node_link_graph(data, edges="links")
    assert back.number_of_edges() == 6


def test_graphml_export_parses_back_even_with_control_characters_in_app_text(tmp_path):
    steps = list(STEPS)
    steps[3] = ("action", {"type": "tap", "target": {"text": "bell\x07 nul\x00 esc\x1b lone\ud800 rtl\u202e ok"}})
    trace = Trace([Step(seq, float(seq), kind, data) for seq, (kind, data) in enumerate(steps, start=1)])
    path = tmp_path / "g.graphml"
    path.write_text(export_graph(build_graph(trace), "graphml"), encoding="utf-8")
    back = nx.read_graphml(path)
    assert set(back.nodes) == {"home", "perm", "launcher", "wechat", "stopped"}
    texts = [d["text"] for _, _, d in back.edges(data=True) if "bell" in d.get("text", "")]
    assert texts and texts[0].endswith(" ok") and "\x00" not in texts[0]
    assert back.nodes["home"]["visits"] == 3


QUOTED = r'"(?:[^"\\\n]|\\.)*"'
STATEMENT = re.compile(rf"^  {QUOTED}(?: -> {QUOTED})? \[label={QUOTED}\];$")


def test_dot_export_is_well_formed_and_hostile_labels_stay_inside_their_string():
    graph = build_graph(synthetic_trace())
    graph.add_node('x"\\', activity="\\N\\l", scene='back\\slash at the end\\', visits=1)
    dot = export_graph(graph, "dot")
    lines = dot.rstrip("\n").split("\n")
    assert lines[0] == "digraph naysayer {" and lines[-1] == "}"
    statements = [line for line in lines[1:-1] if not line.startswith(("  node [", "  edge ["))]
    assert all(STATEMENT.match(line) for line in statements), [s for s in statements if not STATEMENT.match(s)]
    assert len(statements) == graph.number_of_nodes() + graph.number_of_edges()
    evil = [line for line in statements if "evil" in line]
    assert len(evil) == 1 and '\\"];  evil [label=\\"x' in evil[0]


def test_graph_command_reads_a_stored_run_and_refuses_unknown_formats(tmp_path):
    with RunStore.create(tmp_path, "r") as store:
        for seq, (kind, data) in enumerate(STEPS, start=1):
            store.append(kind, float(seq), data)
    for fmt in ("json", "graphml", "dot"):
        assert graph_command(tmp_path / "r", fmt) == export_graph(build_graph(synthetic_trace()), fmt)
    with pytest.raises(UnknownGraphFormat, match="unknown graph format"):
        graph_command(tmp_path / "r", "svg")
    with pytest.raises(UnknownGraphFormat):
        export_graph(build_graph(synthetic_trace()), "png")
    assert nx.read_graphml(io.BytesIO(graph_command(tmp_path / "r", "graphml").encode())).number_of_edges() == 6
