"""Perception from pixels alone (OCR and vision, no hierarchy) on the real screenshots in shared/reference/real/img,
read in place. Measured 2026-11-28: 10 of 12 permission dialogs, 3 of 3 consent dialogs, 15 of 17 ad pop-ups and 2 of
2 launch ads recognised; no hard negative taken for a permission or consent dialog, and none for an ad except the two
promotion prompts (two rating prompts and an update prompt) that perception reports as ad_popup by design. Known misses (named,
not hidden): two DroidBot AOSP dialogs whose OCR lines do not carry the question; an interstitial whose only X sits
in the band where a status bar would be; a video ad whose "Skip Ad" pill reads as a launch ad's skip."""

from __future__ import annotations

import csv

import pytest

from crawler.inspection import inspect_screen
from crawler.perceive import vision
from tests.reference import needs_reference, reference_path

REAL = reference_path("real/img")
pytestmark = needs_reference("real/img")
KNOWN_MISSES = {"droidbot__com.lolo.io.onelist__2023-10-19_153616.jpg",
                "droidbot__tw.qtlin.mac.airunlocker__2023-10-19_115504.jpg"}
MIN_AD_POPUPS = 15  # of 17 (was 0 before pixel ad cues): a regression below this fails
PROMOTION_PROMPTS = ("other_rating_prompt", "other_update_prompt")  # reported as ad_popup when their words say so
NOT_ADS = ("other", "other_banner_ad", "other_in_app_prompt", "other_in_feed_ad", "other_settings_page",
           "other_system_dialog", "other_app_permission_rationale", "permission_dialog", "permission_dialog_or_review",
           "permission_dialog_special_access", "permission_screen_fullscreen", "consent_dialog")


def labelled(*labels: str) -> list[tuple[str, str]]:
    if not REAL.is_dir():
        return []
    with open(REAL / "sources.tsv", encoding="utf-8") as handle:
        return [(row["file"], row["label"]) for row in csv.DictReader(handle, delimiter="\t") if row["label"] in labels]


@pytest.fixture(scope="module")
def scene_of():
    cache: dict[str, dict] = {}

    def read(name: str) -> dict:
        if name not in cache:
            cache[name] = inspect_screen(None, REAL / name, use_ocr=True)
        return cache[name]

    return read


def test_permission_dialogs_are_recognised_from_pixels_with_their_deny(scene_of):
    files = [f for f, _ in labelled("permission_dialog")]
    recognised = [f for f in files if scene_of(f)["scene"] == "permission_dialog"]
    assert len(files) == 12 and set(files) - set(recognised) <= KNOWN_MISSES
    for f in recognised:
        actions = scene_of(f)["actions"]
        assert "deny" in actions or "deny_dont_ask" in actions, f


def test_consent_dialogs_are_recognised_from_pixels_with_their_refusal(scene_of):
    files = [f for f, _ in labelled("consent_dialog")]
    assert files
    for f in files:
        scene = scene_of(f)
        assert scene["scene"] == "consent_dialog" and "refuse" in scene["actions"], f


def test_hard_negatives_are_never_permission_or_consent_dialogs(scene_of):
    negatives = labelled("other", "other_banner_ad", "other_in_app_prompt", "other_in_feed_ad", "other_rating_prompt",
                         "other_settings_page", "other_system_dialog", "other_update_prompt", "ad_popup", "splash_ad",
                         "other_app_permission_rationale")
    assert len(negatives) >= 30
    wrong = [(f, scene_of(f)["scene"]) for f, _ in negatives
             if scene_of(f)["scene"] in ("permission_dialog", "consent_dialog")]
    assert wrong == []


def test_ad_popups_are_recognised_from_pixels_with_a_way_out_or_their_button(scene_of):
    files = [f for f, _ in labelled("ad_popup")]
    recognised = [f for f in files if scene_of(f)["scene"] == "ad_popup"]
    assert len(files) == 17 and len(recognised) >= MIN_AD_POPUPS, sorted(set(files) - set(recognised))
    for f in recognised:
        actions = scene_of(f)["actions"]
        assert "close" in actions or "cta" in actions, f
        close = actions.get("close")
        if close and close["source"] == "vision":
            # A close found by vision is the X's own box: the tap lands on the drawn cross.
            crosses = [list(b) for b in vision.close_crosses(vision.decode((REAL / f).read_bytes()))]
            assert close["bounds"] in crosses, f


def test_launch_ads_are_recognised_from_pixels_with_their_skip(scene_of):
    files = [f for f, _ in labelled("splash_ad")]
    assert len(files) == 2
    for f in files:
        scene = scene_of(f)
        assert scene["scene"] == "splash_ad" and "skip" in scene["actions"], f


def test_hard_negatives_are_never_ads(scene_of):
    negatives = labelled(*NOT_ADS)
    assert len(negatives) >= 35
    wrong = [(f, scene_of(f)["scene"]) for f, _ in negatives if scene_of(f)["scene"] in ("ad_popup", "splash_ad")]
    assert wrong == []
    # Rating and update prompts are pop-ups by design (ad_popup, popup kind rating / update): 3 of 4 read as such
    # since 2026-12-02 (Signal's "Please rate this application" / "Don't show"); never a launch ad.
    prompts = [scene_of(f)["scene"] for f, _ in labelled(*PROMOTION_PROMPTS)]
    assert "splash_ad" not in prompts and set(prompts) <= {"ad_popup", "app"}
