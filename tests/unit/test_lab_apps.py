"""APPS lists (crawler.lab.apps) and reading an APK's package name on the host (crawler.apk)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from crawler.apk import BadApk, apk_package
from crawler.apk.manifest import axml_package
from crawler.lab import LabError
from crawler.lab.apps import read_apps
from emulator.zoo import build_sim_apk

REPO = Path(__file__).resolve().parents[2]
WEATHER_YAML = REPO / "emulator" / "zoo" / "apps" / "weather_quit.yaml"
WEATHER = "com.example.qingtian.weather"


def test_a_list_of_names_and_apks_with_bad_entries_and_a_duplicate(tmp_path):
    (tmp_path / "apks").mkdir()
    build_sim_apk(WEATHER_YAML, tmp_path / "apks" / "weather.apk")
    (tmp_path / "broken.apk").write_bytes(b"not a zip at all")
    listing = tmp_path / "apps.txt"
    listing.write_text("# tonight\n\ncom.example.scanly  # polite\napks/weather.apk\nmissing.apk\nbroken.apk\n"
                       f"{WEATHER}\nnot a package\n")
    apps = read_apps(listing)
    jobs = {job.entry: job for job in apps.jobs}
    assert list(jobs) == ["apps.txt:3", "apps.txt:4", "apps.txt:5", "apps.txt:6", "apps.txt:8"]
    assert jobs["apps.txt:3"].package == "com.example.scanly" and not jobs["apps.txt:3"].error
    weather = jobs["apps.txt:4"]
    assert weather.package == WEATHER and Path(weather.apk) == (tmp_path / "apks" / "weather.apk").resolve()
    assert len(weather.apk_sha256) == 64
    assert "no such APK file" in jobs["apps.txt:5"].error
    assert "not an APK" in jobs["apps.txt:6"].error
    assert "not a package name" in jobs["apps.txt:8"].error
    assert apps.warnings == [f"apps.txt:7: {WEATHER} is already listed at apps.txt:4: skipped"]
    assert len(apps.errors) == 3 and all(line.startswith("apps.txt:") for line in apps.errors)


def test_a_folder_of_apks(tmp_path):
    build_sim_apk(WEATHER_YAML, tmp_path / "b.apk")
    build_sim_apk(WEATHER_YAML, tmp_path / "a.apk")
    (tmp_path / "notes.txt").write_text("ignored")
    apps = read_apps(tmp_path)
    assert [job.package for job in apps.jobs] == [WEATHER] and len(apps.warnings) == 1


def test_no_apps_is_one_clear_error(tmp_path):
    with pytest.raises(LabError, match="nope.txt: no such file"):
        read_apps(tmp_path / "nope.txt")
    (tmp_path / "empty.txt").write_text("# nothing tonight\n")
    with pytest.raises(LabError, match="no apps listed"):
        read_apps(tmp_path / "empty.txt")


def test_the_package_of_a_real_apk_is_read_from_its_binary_manifest():
    uiautomator2 = pytest.importorskip("uiautomator2")
    apk = Path(uiautomator2.__file__).parent / "assets" / "app-uiautomator.apk"
    if not apk.is_file():
        pytest.skip("uiautomator2 ships no APK in this version")
    assert apk_package(apk) == "com.github.uiautomator"


def test_unreadable_apks_say_why(tmp_path):
    empty_zip = tmp_path / "empty.apk"
    with zipfile.ZipFile(empty_zip, "w") as z:
        z.writestr("classes.dex", b"dex\n035")
    with pytest.raises(BadApk, match="no AndroidManifest.xml"):
        apk_package(empty_zip)
    with pytest.raises(BadApk, match="not binary XML"):
        axml_package(b"<manifest package='x'/>")
    with pytest.raises(BadApk, match="unreadable AndroidManifest.xml"):
        axml_package(b"\x03\x00\x08\x00\xff\x00\x00\x00" + b"\x01\x00" * 20)
