"""The facts a run records about the app's APK (the one it installed, or the one installed already): its sha256,
the label, and who signed it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawler.apk.errors import BadApk
from crawler.apk.manifest import apk_label
from crawler.apk.signers import Signer, apk_signers
from crawler.text_safety import export_text


@dataclass(frozen=True)
class ApkFacts:
    sha256: str
    label: str = ""
    signers: tuple[Signer, ...] = ()
    problem: str = ""  # why the label or the signers could not be read (the install may still have worked)
    source: str = ""  # "given" (--apk, installed by the crawl) | "installed" (pulled from the device) | "" (none)

    def to_json(self) -> dict[str, Any]:
        """The fields of the trace's run_start `app`."""
        data: dict[str, Any] = {"apk_sha256": self.sha256, "label": self.label,
                                "signers": [s.to_json() for s in self.signers]}
        if self.problem:
            data["apk_problem"] = self.problem
        if self.source:
            data["apk_source"] = self.source
        return data


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_apk_facts(path: str | Path, source: str = "given") -> ApkFacts:
    path = Path(path)
    sha = sha256_file(path)
    problems, label, signers = [], "", ()
    try:
        label = apk_label(path)
    except BadApk as exc:
        problems.append(str(exc))
    try:
        signers = tuple(apk_signers(path))
    except BadApk as exc:
        problems.append(str(exc))
    return ApkFacts(sha, export_text(label, 120).strip(), signers, export_text("; ".join(problems), 300), source)
