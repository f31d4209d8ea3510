"""Precision and recall of found finding kinds against the zoo's ground truth (used by the demo and bench/accuracy.py).

Per app, the expected and found kinds are sets; a kind found in an app that does not expect it is a false positive
(in enforcement, worse than a miss), one expected and not found is a false negative.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass


@dataclass
class AppScore:
    package: str
    expected: list[str]
    found: list[str]

    @property
    def ok(self) -> bool:
        return set(self.expected) == set(self.found)

    def to_json(self) -> dict:
        return {"package": self.package, "expected": sorted(self.expected), "found": sorted(self.found), "ok": self.ok}


def _ratio(num: int, den: int) -> float:
    return round(num / den, 4) if den else 1.0


def score(apps: list[AppScore]) -> dict:
    tp, fp, fn = Counter(), Counter(), Counter()
    for app in apps:
        expected, found = set(app.expected), set(app.found)
        for kind in expected & found:
            tp[kind] += 1
        for kind in found - expected:
            fp[kind] += 1
        for kind in expected - found:
            fn[kind] += 1
    kinds = sorted(set(tp) | set(fp) | set(fn))
    per_kind = {k: {"tp": tp[k], "fp": fp[k], "fn": fn[k], "precision": _ratio(tp[k], tp[k] + fp[k]),
                    "recall": _ratio(tp[k], tp[k] + fn[k])} for k in kinds}
    all_tp, all_fp, all_fn = sum(tp.values()), sum(fp.values()), sum(fn.values())
    return {"precision": _ratio(all_tp, all_tp + all_fp), "recall": _ratio(all_tp, all_tp + all_fn),
            "per_kind": per_kind}
