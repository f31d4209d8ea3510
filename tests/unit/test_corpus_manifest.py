"""The real-screen corpus (bench/corpus): every entry has provenance, a licence, a sha256 that matches the stored
file and labels in the allowed vocabularies; the scorer (bench/perception.py) scores what perception says against
those labels."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from pathlib import Path

import pytest

from bench import perception
from bench.corpus import fetch
from bench.corpus.convert import droidbot_to_xml, gkd_to_xml
from crawler.perceive.scene import PERMISSION_GROUPS, SCENE_KINDS, Control, Scene
from crawler.screen import parse_hierarchy

CORPUS = Path(perception.__file__).resolve().parent / "corpus"
ENTRIES = perception.read_manifest(CORPUS)
FORMATS = {"uiautomator_xml", "droidbot_json", "gkd_json", "image"}
NO_LICENCE = re.compile(r"^none\b")
GKD_SAMPLE = CORPUS.parents[2] / "shared" / "reference" / "real" / "gkd_snapshots" / "snapshot-1698990932472.json"


def test_every_entry_has_provenance_a_licence_and_allowed_labels():
    ids = [e["id"] for e in ENTRIES]
    assert len(ids) == len(set(ids))
    for e in ENTRIES:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+", e["source"]), e["id"]
        assert re.fullmatch(r"[0-9a-f]{40}", e["commit"]), e["id"]
        assert re.fullmatch(r"[0-9a-f]{64}", e["sha256"]), e["id"]
        assert e["path"] and e["licence"] and e["format"] in FORMATS, e["id"]
        assert e["split"] in ("dev", "heldout"), e["id"]
        assert isinstance(e["stored"], bool)
        # A file whose licence does not allow redistribution is never in the repository, only in the cache.
        assert e["file"].startswith("files/" if e["stored"] else "cache/"), e["id"]
        assert not (e["stored"] and NO_LICENCE.match(e["licence"])), e["id"]
        labels = e["labels"]
        assert labels["kind"] in SCENE_KINDS, e["id"]
        assert labels["permission"] is None or labels["permission"] in PERMISSION_GROUPS, e["id"]
        box = labels["refuse"]
        assert box is None or (len(box) == 4 and box[0] < box[2] and box[1] < box[3]), e["id"]
        if e["format"] != "image":
            assert e.get("image") is None or re.fullmatch(r"[0-9a-f]{64}", e["image"]["sha256"]), e["id"]


def test_stored_files_match_their_sha256_and_nothing_unlisted_is_stored():
    listed = set()
    for e in ENTRIES:
        if not e["stored"]:
            continue
        for rel, digest in [(e["file"], e["sha256"])] + ([(e["image"]["file"], e["image"]["sha256"])]
                                                         if e.get("image") else []):
            listed.add(rel)
            assert hashlib.sha256((CORPUS / rel).read_bytes()).hexdigest() == digest, rel
    on_disk = {str(p.relative_to(CORPUS)) for p in (CORPUS / "files").rglob("*") if p.is_file()}
    assert on_disk == listed


def test_the_corpus_keeps_sources_held_out():
    sources = {e["source"] for e in ENTRIES}
    heldout = {e["source"] for e in ENTRIES if e["split"] == "heldout"}
    assert len(ENTRIES) >= 300 and len(sources) >= 15 and len(heldout) >= 5
    # A source is wholly dev or wholly held out: leave-source-out, not leave-screen-out.
    assert not heldout & {e["source"] for e in ENTRIES if e["split"] == "dev"}


def test_converted_droidbot_states_keep_every_view():
    states = [e for e in ENTRIES if e["format"] == "droidbot_json" and e["stored"]][:5]
    assert states
    for e in states:
        data = (CORPUS / e["file"]).read_bytes()
        hierarchy = parse_hierarchy(droidbot_to_xml(data))
        assert len(hierarchy.widgets) == len(json.loads(data)["views"])


@pytest.mark.skipif(not GKD_SAMPLE.is_file(), reason="shared/reference/real is not beside the repository")
def test_converted_gkd_snapshot_keeps_every_node_and_its_ids():
    snap = json.loads(GKD_SAMPLE.read_bytes())
    hierarchy = parse_hierarchy(gkd_to_xml(GKD_SAMPLE.read_bytes()))
    assert len(hierarchy.widgets) == len(snap["nodes"])
    assert hierarchy.find("tt_splash_skip_btn")


def test_the_scorer_counts_kind_group_refusal_and_hard_negatives():
    deny = perception.Screen(id="a", source="s", split="dev", kind="permission_dialog", permission="camera",
                             refuse=(10, 100, 110, 140))
    tally = perception.Tally()
    tally.add(deny, Scene(kind="permission_dialog", permission="camera",
                          actions={"deny": Control(bounds=(0, 90, 200, 150)), "allow": Control(bounds=(0, 0, 9, 9))}))
    tally.add(deny, Scene(kind="permission_dialog", permission="location",
                          actions={"deny": Control(bounds=(300, 90, 400, 150))}))
    negative = perception.Screen(id="n", source="s", split="dev", kind="app")
    tally.add(negative, Scene(kind="consent_dialog"))
    assert tally.kinds == {"permission_dialog": [2, 2], "app": [0, 1]}
    assert tally.permission == [1, 2] and tally.refusal == [1, 2]
    assert tally.negatives == [1, 1] and tally.negatives_taken == ["n"]


def test_the_scorer_runs_on_stored_hierarchies():
    screens, missing = perception.load_corpus(CORPUS, "gui-test/")
    assert screens and not missing
    result = perception.score(screens, ("hierarchy",))
    scored = result["hierarchy"]["corpus"]
    assert sum(n for _, n in scored.kinds.values()) == sum(s.hierarchy is not None for s in screens)
    assert scored.refusal[1] == sum(s.refuse is not None and s.hierarchy is not None for s in screens)
    table = perception.markdown(result, {"screens": len(screens), "missing": [], "sources": 1,
                                         "heldout_sources": 1})
    assert "| permission_dialog |" in table and "refusing control" in table


def _mirror(tmp_path: Path, files: dict[str, bytes]) -> tuple[Path, str]:
    """A local git mirror laid out as fetch.py expects (<mirror>/<owner>+<name>/repo) holding `files`; its commit."""
    repo = tmp_path / "mirror" / "someone+screens" / "repo"
    repo.mkdir(parents=True)
    for name, data in files.items():
        (repo / name).write_bytes(data)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git[:3], "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "screens"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    return tmp_path / "mirror", commit


def test_fetch_brings_files_from_a_mirror_and_refuses_a_changed_one(tmp_path):
    data = (CORPUS / next(e["file"] for e in ENTRIES if e["stored"] and e["format"] == "image")).read_bytes()
    mirror, commit = _mirror(tmp_path, {"a.png": data, "b.png": data + b"changed"})
    entry = {"id": "t/a", "source": "someone/screens", "commit": commit, "path": "a.png", "file": "cache/t/a.png",
             "sha256": hashlib.sha256(data).hexdigest(), "stored": False}
    changed = {**entry, "id": "t/b", "path": "b.png", "file": "cache/t/b.png"}
    root = tmp_path / "corpus"
    got, failed = fetch.fetch([entry, changed], mirror, offline=True, root=root)
    assert got == 1 and (root / "cache/t/a.png").read_bytes() == data
    assert len(failed) == 1 and "sha256 differs" in failed[0] and not (root / "cache/t/b.png").exists()
