"""What every crawl of a lab uses: stored with the lab, so a resumed lab (or a remote worker) crawls the same way.

LabOptions are CrawlOptions (crawler.crawl, the only copy of the crawl defaults) plus how often a job may fail.
They are stored in lab.sqlite as one flat JSON object; a lab saved by an older naysayer (fewer keys) loads with the
defaults for what it lacks.
"""

from __future__ import annotations

from dataclasses import dataclass

from crawler.crawl import CrawlOptions


@dataclass(frozen=True)
class LabOptions(CrawlOptions):
    max_failures: int = 2  # an app that fails this many times is marked failed
    max_losses: int = 3  # a job whose device is lost this many times is marked failed (an app that kills devices)
