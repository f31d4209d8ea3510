"""The facts a run records about the app's APK (the one it installed, or the one installed already): its sha256,
the label, who signed it, and which third-party ad SDKs it embeds (from its dex class names)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawler.apk.dex import apk_dex_packages, embedded_sdks
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
    sdks: tuple[str, ...] | None = None  # ad SDK ids (crawler/lexicon/ad_sdks.yaml) found in its dex; None: not read

    def to_json(self) -> dict[str, Any]:
        """The fields of the trace's run_start `app`."""
        data: dict[str, Any] = {"apk_sha256": self.sha256, "label": self.label,
                                "signers": [s.to_json() for s in self.signers]}
        if self.problem:
            data["apk_problem"] = self.problem
        if self.source:
            data["apk_source"] = self.source
        if self.sdks is not None:
            data["sdks"] = list(self.sdks)
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
    sdks: tuple[str, ...] | None = None
    try:
        dex = apk_dex_packages(path)
        sdks = embedded_sdks(dex.packages)
        if dex.problem:
            problems.append(f"dex: {dex.problem}")
    except BadApk as exc:
        problems.append(str(exc))
    return ApkFacts(sha, export_text(label, 120).strip(), signers, export_text("; ".join(problems), 300), source, sdks)
