"""What every crawl of a lab uses: stored with the lab, so a resumed lab (or a remote worker) crawls the same way."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass
class LabOptions:
    strategy: str = "deny"
    budget: float = 300.0  # device seconds of exploration per app
    steps: int = 400
    idle: float = 900.0  # device seconds of self-start watch per app
    seed: int = 0
    ocr: bool = True
    set: list[str] = field(default_factory=list)  # finding threshold overrides, `KIND.NAME=VALUE`
    max_failures: int = 2  # an app that fails this many times is marked failed
    max_losses: int = 3  # a job whose device is lost this many times is marked failed (an app that kills devices)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LabOptions:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def thresholds(self):
        from crawler.detectors.taxonomy import Settings

        return Settings.from_cli(self.set)
