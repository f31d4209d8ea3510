"""The one text-safety module: screen text for matching and display, any value for export."""

from crawler.text_safety import SCREEN_TEXT_LIMIT, clean_screen_text, comparable_text, export_text


def test_comparable_text_unifies_width_quotes_space_and_case():
    assert comparable_text("Don\u2019t  ALLOW") == "don't allow"
    assert comparable_text("\u201cMaps\u201d \u300c地图\u300d") == '"maps" "地图"'
    assert comparable_text("拒绝\uff0c不要再询问\uff1f") == "拒绝,不要再询问?"  # full-width punctuation (NFKC)
    assert comparable_text("  a\n\tb  ") == "a b"
    assert len(comparable_text("x" * 5000)) == SCREEN_TEXT_LIMIT


def test_clean_screen_text_drops_terminal_escapes_and_bidi_overrides_but_keeps_case():
    assert clean_screen_text("\x9b[31mRed\u202e txt\u200b") == "[31mRed txt"
    assert clean_screen_text("ALLOW") == "ALLOW"


def test_export_text_keeps_the_text_but_not_what_breaks_xml_dot_or_a_terminal():
    assert export_text("Don\u2019t \u300c地图\u300d") == "Don\u2019t \u300c地图\u300d"  # no normalisation
    assert export_text("a\x00b\u202ec\u2028d\x1b[31m") == "a b c d [31m"
    assert export_text(None) == "" and export_text(42) == "42"
    assert len(export_text("x" * 5000)) == 200 and len(export_text("x" * 5000, 30)) == 30
