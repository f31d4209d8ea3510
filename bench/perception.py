"""Perception on real screens, leave-source-out: scene kind, permission group and refusing control per scene kind,
from the hierarchy and from pixels alone, on the development sources and on the held-out ones.

    .venv/bin/python bench/perception.py [--modes hierarchy,pixels] [--no-reference] [--json] [--ids PREFIX]

The corpus is bench/corpus/manifest.jsonl (see bench/corpus/README.md): every screen with its provenance, its split
(`dev`: rules may be written looking at it; `heldout`: nobody tunes on it) and labels decided by looking at the screen.
Files whose licence does not allow redistribution are not in the repository: `bench/corpus/fetch.py` brings them
into bench/corpus/cache/ (git-ignored); entries whose file is absent are counted as missing, never scored.
The labelled screens of ../shared/reference/real (read in place) are scored as their own group, `reference`.

Scores:
- kind: the scene kind perception reports equals the label (per labelled kind: recall).
- permission: on permission dialogs labelled with a group, the group reported equals it.
- refusal: on screens whose refusing control (deny / refuse / not now / close / skip) is labelled, the control
  perception offers for saying no (the first of REFUSAL_ROLES it reports) has a box containing the label's centre.
- hard negatives: screens labelled neither permission_dialog nor consent_dialog that perception takes for one.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import platform
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.corpus.convert import droidbot_to_xml, gkd_to_xml, screen_size
from crawler.perceive import perceive
from crawler.perceive.scene import SCENE_KINDS, Scene
from crawler.screen import Hierarchy, parse_hierarchy

CORPUS = Path(__file__).resolve().parent / "corpus"
REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "real"
MODES = ("hierarchy", "pixels")
SPLITS = ("dev", "heldout", "reference")
DIALOGS = ("permission_dialog", "consent_dialog")
# The control a user taps to say no, in the order perception's roles are looked up.
REFUSAL_ROLES = ("deny", "deny_dont_ask", "refuse", "not_now", "exit", "close", "skip")
# ../shared/reference/real labels -> scene kinds (its files carry no refusing-control boxes).
REFERENCE_KINDS = {
    "permission_dialog": "permission_dialog", "permission_dialog_special_access": "permission_dialog",
    "permission_screen_fullscreen": "permission_dialog", "permission_dialog_or_review": "system_dialog",
    "consent_dialog": "consent_dialog", "splash_ad": "splash_ad", "ad_popup": "ad_popup",
    "other_rating_prompt": "ad_popup", "other_update_prompt": "ad_popup",
    "other_app_permission_rationale": "rationale_dialog", "other_system_dialog": "system_dialog",
}


@dataclass
class Screen:
    """One labelled screen, ready for perception."""

    id: str
    source: str
    split: str
    kind: str
    permission: str | None = None
    refuse: tuple[int, int, int, int] | None = None
    hierarchy: bytes | None = None  # uiautomator XML
    screen: tuple[int, int, int, int] | None = None  # the device screen, when the format records it
    image: bytes | None = None


@dataclass
class Tally:
    kinds: dict[str, list[int]] = field(default_factory=dict)  # label -> [correct, n]
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)  # label -> predicted -> count
    permission: list[int] = field(default_factory=lambda: [0, 0])
    refusal: list[int] = field(default_factory=lambda: [0, 0])
    negatives: list[int] = field(default_factory=lambda: [0, 0])  # [taken for a permission/consent dialog, n]
    negatives_taken: list[str] = field(default_factory=list)
    misses: list[dict[str, Any]] = field(default_factory=list)

    def add(self, s: Screen, scene: Scene) -> None:
        got = scene.kind
        ok = self.kinds.setdefault(s.kind, [0, 0])
        ok[0] += got == s.kind
        ok[1] += 1
        row = self.confusion.setdefault(s.kind, {})
        row[got] = row.get(got, 0) + 1
        miss: dict[str, Any] = {}
        if got != s.kind:
            miss["kind"] = got
        if s.permission is not None:
            self.permission[1] += 1
            if got == s.kind and scene.permission == s.permission:
                self.permission[0] += 1
            else:
                miss["permission"] = scene.permission
        if s.refuse is not None:
            self.refusal[1] += 1
            control = refusal_control(scene)
            if control is not None and contains(control, centre(s.refuse)):
                self.refusal[0] += 1
            else:
                miss["refusal"] = list(control) if control else None
        if s.kind not in DIALOGS:
            self.negatives[1] += 1
            if got in DIALOGS:
                self.negatives[0] += 1
                self.negatives_taken.append(s.id)
        if miss:
            self.misses.append({"id": s.id, "label": s.kind, **miss})

    def merge(self, other: Tally) -> None:
        for k, (c, n) in other.kinds.items():
            mine = self.kinds.setdefault(k, [0, 0])
            mine[0] += c
            mine[1] += n
        for k, row in other.confusion.items():
            mine_row = self.confusion.setdefault(k, {})
            for g, c in row.items():
                mine_row[g] = mine_row.get(g, 0) + c
        for name in ("permission", "refusal", "negatives"):
            a, b = getattr(self, name), getattr(other, name)
            a[0] += b[0]
            a[1] += b[1]
        self.negatives_taken += other.negatives_taken
        self.misses += other.misses

    def to_json(self) -> dict[str, Any]:
        return {"kinds": {k: {"correct": c, "n": n} for k, (c, n) in sorted(self.kinds.items())},
                "confusion": self.confusion,
                "permission": {"correct": self.permission[0], "n": self.permission[1]},
                "refusal": {"correct": self.refusal[0], "n": self.refusal[1]},
                "hard_negatives": {"taken_for_dialog": self.negatives[0], "n": self.negatives[1],
                                   "ids": self.negatives_taken},
                "misses": self.misses}


def centre(b: tuple[int, int, int, int]) -> tuple[float, float]:
    return (b[0] + b[2]) / 2, (b[1] + b[3]) / 2


def contains(b: tuple[int, int, int, int], p: tuple[float, float]) -> bool:
    return b[0] <= p[0] <= b[2] and b[1] <= p[1] <= b[3]


def refusal_control(scene: Scene) -> tuple[int, int, int, int] | None:
    for role in REFUSAL_ROLES:
        if role in scene.actions:
            return tuple(scene.actions[role].bounds)
    return None


class CorpusError(ValueError):
    """The manifest cannot be read."""


def read_manifest(corpus: Path = CORPUS) -> list[dict[str, Any]]:
    path = corpus / "manifest.jsonl"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise CorpusError(f"{path}: cannot read: {exc.strerror or exc}") from None
    entries = []
    for n, line in enumerate(lines, 1):
        if line.strip():
            try:
                entries.append(json.loads(line))
            except ValueError as exc:
                raise CorpusError(f"{path}:{n}: not JSON: {exc}") from None
    return entries


def _read_checked(corpus: Path, rel: str, digest: str) -> bytes | None:
    """The file's bytes when present and matching its sha256; None when absent (not fetched)."""
    path = corpus / rel
    if not path.is_file():
        return None
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != digest:
        raise CorpusError(f"{path}: sha256 differs from the manifest (a changed or corrupt file)")
    return data


def hierarchy_xml(fmt: str, data: bytes) -> bytes:
    if fmt == "uiautomator_xml":
        return data
    if fmt == "droidbot_json":
        return droidbot_to_xml(data).encode("utf-8")
    if fmt == "gkd_json":
        return gkd_to_xml(data).encode("utf-8")
    raise CorpusError(f"unknown hierarchy format {fmt!r}")


def device_screen(fmt: str, data: bytes, image: bytes | None) -> tuple[int, int, int, int] | None:
    """The device screen of a hierarchy that records only its top window (a DroidBot state of a dialog): the paired
    screenshot's size, else the size the format records (DroidBot writes the display's natural, landscape size on
    some devices: turned to portrait when the dump is portrait)."""
    if image is not None:
        from PIL import Image

        width, height = Image.open(io.BytesIO(image)).size
        return (0, 0, width, height)
    size = screen_size(fmt, data)
    if size is None:
        return None
    width, height = size
    tops = parse_hierarchy(hierarchy_xml(fmt, data)).windows
    portrait = any(w.bounds[3] - w.bounds[1] > w.bounds[2] - w.bounds[0] for w in tops)
    if portrait and width > height:
        width, height = height, width
    return (0, 0, width, height)


def load_corpus(corpus: Path = CORPUS, prefix: str = "") -> tuple[list[Screen], list[str]]:
    """The corpus's screens whose files are here, and the ids of those that are not (not fetched)."""
    screens, missing = [], []
    for e in read_manifest(corpus):
        if not e["id"].startswith(prefix):
            continue
        data = _read_checked(corpus, e["file"], e["sha256"])
        image = None
        if e["format"] == "image":
            image = data
        elif e.get("image"):
            image = _read_checked(corpus, e["image"]["file"], e["image"]["sha256"])
        if data is None:
            missing.append(e["id"])
            continue
        lab = e["labels"]
        s = Screen(id=e["id"], source=e["source"], split=e["split"], kind=lab["kind"], permission=lab["permission"],
                   refuse=tuple(lab["refuse"]) if lab.get("refuse") else None, image=image)
        if e["format"] != "image":
            s.hierarchy = hierarchy_xml(e["format"], data)
            s.screen = device_screen(e["format"], data, image)
        screens.append(s)
    return screens, missing


def load_reference(root: Path = REFERENCE) -> list[Screen]:
    """The labelled screens of ../shared/reference/real, read in place: hierarchies (xml/) and screenshots (img/)."""
    screens: list[Screen] = []
    for sub, column in (("xml", "file"), ("img", "file")):
        tsv = root / sub / "sources.tsv"
        if not tsv.is_file():
            continue
        with open(tsv, encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                path = root / sub / row[column]
                if not path.is_file():
                    continue
                kind = REFERENCE_KINDS.get(row["label"], "app")
                s = Screen(id=f"reference/{sub}/{row[column]}", source=row["repo"], split="reference", kind=kind)
                if sub == "xml":
                    s.hierarchy = path.read_bytes()
                else:
                    s.image = path.read_bytes()
                screens.append(s)
    return screens


def ocr_engine() -> Any:
    from crawler.perceive.ocr import default_engine

    engine = default_engine()
    engine.load()
    return engine


def run(screens: list[Screen], mode: str, ocr: Any = None) -> Iterator[tuple[Screen, Scene]]:
    from crawler.perceive.vision import decode

    for s in screens:
        if mode == "hierarchy" and s.hierarchy is not None:
            h = parse_hierarchy(s.hierarchy)
            if s.screen is not None:
                h.screen = s.screen
            yield s, perceive(h)
        elif mode == "pixels" and s.image is not None and ocr is not None:
            height, width = decode(s.image).shape[:2]
            yield s, perceive(Hierarchy.empty((0, 0, width, height)), s.image, ocr)


def score(screens: list[Screen], modes: tuple[str, ...], ocr: Any = None) -> dict[str, dict[str, Tally]]:
    """mode -> split (dev, heldout, reference, corpus = dev + heldout) -> Tally."""
    out: dict[str, dict[str, Tally]] = {}
    for mode in modes:
        per = {split: Tally() for split in SPLITS}
        for s, scene in run(screens, mode, ocr):
            per[s.split].add(s, scene)
        corpus = Tally()
        corpus.merge(per["dev"])
        corpus.merge(per["heldout"])
        per["corpus"] = corpus
        out[mode] = per
    return out


def _cell(c: int, n: int) -> str:
    return f"{c}/{n} ({c / n:.0%})" if n else "-"


def markdown(result: dict[str, dict[str, Tally]], counts: dict[str, Any]) -> str:
    cols = ("dev", "heldout", "corpus", "reference")
    head = (f"corpus: {counts['screens']} screens scored, {len(counts['missing'])} not fetched; "
            f"{counts['sources']} sources ({counts['heldout_sources']} held out)")
    lines = [head, ""]
    for mode, per in result.items():
        lines += [f"### {mode}", "", "| label | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
        for kind in SCENE_KINDS:
            if any(kind in per[c].kinds for c in cols):
                lines.append(f"| {kind} | " + " | ".join(_cell(*per[c].kinds.get(kind, [0, 0])) for c in cols) + " |")
        tot = {c: [sum(v[0] for v in per[c].kinds.values()), sum(v[1] for v in per[c].kinds.values())] for c in cols}
        lines.append("| **all kinds** | " + " | ".join(_cell(*tot[c]) for c in cols) + " |")
        lines.append("| permission group | " + " | ".join(_cell(*per[c].permission) for c in cols) + " |")
        lines.append("| refusing control | " + " | ".join(_cell(*per[c].refusal) for c in cols) + " |")
        lines.append("| hard negatives taken for a permission/consent dialog | "
                     + " | ".join(f"{per[c].negatives[0]} of {per[c].negatives[1]}" for c in cols) + " |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modes", default=",".join(MODES), help="hierarchy,pixels (default both)")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--no-reference", action="store_true", help="leave out ../shared/reference/real")
    parser.add_argument("--ids", default="", help="score only entries whose id starts with this")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of markdown")
    parser.add_argument("--json-out", type=Path, help="also write the JSON object to this file")
    args = parser.parse_args(argv)
    modes = tuple(m for m in args.modes.split(",") if m)
    if not modes or any(m not in MODES for m in modes):
        print(f"naysayer: --modes takes {', '.join(MODES)}", file=sys.stderr)
        return 2
    started = time.monotonic()
    try:
        screens, missing = load_corpus(args.corpus, args.ids)
    except CorpusError as exc:
        print(f"naysayer: {exc}", file=sys.stderr)
        return 2
    if not args.no_reference and not args.ids:
        screens += load_reference()
    ocr = ocr_engine() if "pixels" in modes else None
    result = score(screens, modes, ocr)
    entries = read_manifest(args.corpus)
    counts = {"screens": sum(s.split != "reference" for s in screens), "missing": missing,
              "reference": sum(s.split == "reference" for s in screens),
              "sources": len({e["source"] for e in entries}),
              "heldout_sources": len({e["source"] for e in entries if e["split"] == "heldout"})}
    elapsed = time.monotonic() - started
    report = json.dumps({"counts": counts, "seconds": round(elapsed, 1), "machine": platform.machine(),
                         "python": platform.python_version(),
                         "modes": {m: {k: t.to_json() for k, t in per.items()} for m, per in result.items()}},
                        ensure_ascii=False)
    if args.json_out:
        args.json_out.write_text(report + "\n", encoding="utf-8")
    if args.json:
        print(report)
    else:
        print(markdown(result, counts))
        print(f"({elapsed:.0f} s, {platform.machine()}, Python {platform.python_version()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
