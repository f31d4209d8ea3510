"""APPS, the list of a lab's apps: a file of package names and/or APK paths (one a line, `#` comments), or a folder
of *.apk files.

Each usable entry becomes a JobSpec. An entry that cannot be crawled (a missing or corrupt APK, a malformed package
name) still becomes a job, recorded failed with the reason, and is reported in one line: the rest of the lab runs.
A duplicate (the same package again, by name or inside an APK) is reported in one line and skipped.
Relative APK paths in a file are taken from the file's folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from crawler.apk import BadApk, apk_package
from crawler.lab.errors import LabError
from crawler.lab.job import JobSpec

MAX_ENTRY_CHARS = 300


@dataclass
class AppList:
    jobs: list[JobSpec] = field(default_factory=list)  # in order; bad entries carry .error
    warnings: list[str] = field(default_factory=list)  # one line each (duplicates)

    @property
    def errors(self) -> list[str]:
        return [f"{job.entry}: {job.error}" for job in self.jobs if job.error]


def read_apps(source: Path) -> AppList:
    """Parse APPS. Raises LabError if it is neither a file nor a folder, or names no app at all."""
    source = Path(source)
    if source.is_dir():
        entries = [(f"{source}/{p.name}", str(p)) for p in sorted(source.glob("*.apk"))]
        base = source
    elif source.is_file():
        try:
            lines = source.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError as exc:
            raise LabError(f"{source}: cannot read the app list ({exc.strerror})") from None
        entries = [(f"{source.name}:{n}", text) for n, line in enumerate(lines, 1)
                   if (text := line.split("#", 1)[0].strip())]
        base = source.parent
    else:
        raise LabError(f"{source}: no such file or folder of apps")
    apps = AppList()
    seen: dict[str, str] = {}  # package -> the entry that named it first
    for where, text in entries:
        job = _entry(where, text[:MAX_ENTRY_CHARS], base)
        if job.package in seen:
            apps.warnings.append(f"{where}: {job.package} is already listed at {seen[job.package]}: skipped")
            continue
        seen[job.package] = where
        apps.jobs.append(job)
    if not apps.jobs:
        raise LabError(f"{source}: no apps listed (package names or APK paths, one a line; or a folder of *.apk)")
    return apps


def _entry(where: str, text: str, base: Path) -> JobSpec:
    from crawler.apk import sha256_file
    from crawler.device import PACKAGE_NAME

    is_apk = text.lower().endswith(".apk") or "/" in text or "\\" in text
    if not is_apk:
        if not PACKAGE_NAME.match(text) or len(text) > 200:
            return JobSpec(text, entry=where, error=f"{text!r}: not a package name or an APK path")
        return JobSpec(text, entry=where)
    path = Path(text).expanduser()
    path = path if path.is_absolute() else base / path
    if not path.is_file():
        return JobSpec(text, entry=where, error=f"{path}: no such APK file")
    try:
        package = apk_package(path)
    except BadApk as exc:
        return JobSpec(text, entry=where, error=str(exc))
    if not PACKAGE_NAME.match(package):
        return JobSpec(text, entry=where, error=f"{path}: names an invalid package {package[:80]!r}")
    return JobSpec(package, apk=str(path.resolve()), apk_sha256=sha256_file(path), entry=where)
