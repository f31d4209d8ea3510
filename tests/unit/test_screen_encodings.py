"""A hierarchy is decoded the way an XML processor reads it (byte order mark, UTF-16/32 without one, EBCDIC, a
declared legacy encoding) before any check, so a DOCTYPE or entity is refused in every encoding; the issue's
reproduce command (a UTF-16 dump with an external parameter entity) is one line, exit 2, in each of them."""

from __future__ import annotations

import os
import time

import pytest

from crawler.screen import MAX_ATTRIBUTES, BadHierarchy, parse_hierarchy
from tests.cli_runner import naysayer, one_line_error

# (what the declaration says, or None for no declaration; the codec that writes the bytes)
ENCODINGS = [
    ("UTF-8", "utf-8"), ("UTF-8", "utf-8-sig"), (None, "utf-8"), (None, "utf-8-sig"),
    ("UTF-16", "utf-16"), (None, "utf-16"), ("UTF-16LE", "utf-16-le"), ("UTF-16BE", "utf-16-be"),
    (None, "utf-16-le"), (None, "utf-16-be"),
    ("UTF-32", "utf-32"), (None, "utf-32"), ("UTF-32LE", "utf-32-le"), ("UTF-32BE", "utf-32-be"),
    ("cp500", "cp500"), ("IBM037", "cp037"), ("GB18030", "gb18030"), ("ISO-8859-1", "latin-1"),
]
IDS = [f"{decl or 'no-declaration'}-{codec}" for decl, codec in ENCODINGS]
SECRET = "root-secret-7f3a"


def _doc(decl: str | None, codec: str, prolog: str = "", text: str = "拒绝 deny") -> bytes:
    if codec in ("cp500", "cp037", "latin-1"):
        text = "deny é"
    head = f'<?xml version="1.0" encoding="{decl}"?>' if decl else ""
    return (f'{head}{prolog}<hierarchy rotation="1"><node text="{text}" clickable="true" '
            f'bounds="[0,0][720,1600]"/></hierarchy>').encode(codec)


@pytest.mark.parametrize(("decl", "codec"), ENCODINGS, ids=IDS)
def test_a_dump_in_any_encoding_reads_the_same(decl, codec):
    h = parse_hierarchy(_doc(decl, codec))
    assert h.rotation == 1
    assert h.widgets[0].text == ("deny é" if codec in ("cp500", "cp037", "latin-1") else "拒绝 deny")
    assert h.widgets[0].bounds == (0, 0, 720, 1600)


@pytest.mark.parametrize(("decl", "codec"), ENCODINGS, ids=IDS)
@pytest.mark.parametrize("prolog", [
    '<!DOCTYPE r [<!ENTITY % f SYSTEM "file:///etc/passwd"> %f;]>',
    '<!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/hostname">]>',
    '<!DOCTYPE hierarchy SYSTEM "http://127.0.0.1:9/x.dtd">',
    '<!doctype r [<!ENTITY e "x">]>',
    '<!ENTITY e "x">',
    '<!-- <!DOCTYPE r> -->',
], ids=["param-entity", "general-entity", "external-dtd", "lowercase", "entity-only", "in-comment"])
def test_a_declaration_is_refused_in_any_encoding(decl, codec, prolog):
    with pytest.raises(BadHierarchy, match="DOCTYPE or entities") as caught:
        parse_hierarchy(_doc(decl, codec, prolog))
    assert "\n" not in str(caught.value) and "passwd" not in str(caught.value)


@pytest.mark.parametrize(("data", "reason"), [
    (b'<?xml version="1.0" encoding="UTF-16"?><hierarchy/>', "ASCII-compatible"),
    (b'<?xml version="1.0" encoding="x-nope"?><hierarchy/>', "unsupported encoding"),
    (b'<?xml version="1.0" encoding="unicode_escape"?><hierarchy/>', "unsupported encoding"),
    (b'<?xml version="1.0" encoding="rot13"?><hierarchy/>', "unsupported encoding"),
    (b'<?xml version="1.0" encoding="utf\n8"?><hierarchy/>', "invalid encoding name"),
    (b'<?xml version="1.0" encoding="cp500"?><hierarchy/>', "not encoded so"),
    (b'<?xml version="1.0" encoding="' + b"a" * 2000 + b'"?><hierarchy/>', "longer than 1 KB"),
    (b'<hierarchy><node text="\xff\xfe"/></hierarchy>', "not valid utf-8"),
    ('<hierarchy><node text="'.encode("utf-16") + b"\x00\xd8" + b'"\x00/\x00>\x00', "not valid utf-16"),
])
def test_an_encoding_that_lies_or_is_not_text_is_refused(data, reason):
    with pytest.raises(BadHierarchy, match=reason):
        parse_hierarchy(data)


@pytest.mark.parametrize("data", [
    b"<hierarchy>\x00\n\x00</hierarchy>",
    '<?xml version="1.0" encoding="cp500"?><hierarchy>\x85<bad\x85\x85'.encode("cp500"),
    b"<hierarchy><node\ntext='a\nb'\n/>\n<\n",
])
def test_parser_errors_are_one_line(data):
    with pytest.raises(BadHierarchy) as caught:
        parse_hierarchy(data)
    assert len(str(caught.value).splitlines()) == 1 and str(caught.value).isprintable()


def test_many_attributes_are_refused_in_linear_time():
    # 200,000 attributes on one node took 469 s (el.items() is quadratic); now a bound, checked as the node opens
    data = ("<hierarchy><node " + " ".join(f'a{i}="x"' for i in range(200_000)) + "/></hierarchy>").encode()
    with pytest.raises(BadHierarchy, match=f"more than {MAX_ATTRIBUTES} attributes"):
        parse_hierarchy(data)
    at_limit = "<hierarchy><node " + " ".join(f'a{i}="x"' for i in range(MAX_ATTRIBUTES - 1)) + ' text="t"/></hierarchy>'
    assert parse_hierarchy(at_limit).widgets[0].text == "t"


def test_width_is_bounded():
    from crawler.screen import MAX_CHILDREN

    ok = "<hierarchy><node>" + '<node text="w"/>' * MAX_CHILDREN + "</node></hierarchy>"
    assert len(parse_hierarchy(ok).widgets[0].children) == MAX_CHILDREN
    with pytest.raises(BadHierarchy, match="children"):
        parse_hierarchy(ok.replace("<node>", '<node><node text="w"/>', 1))


@pytest.mark.parametrize(("decl", "codec"), [
    ("UTF-8", "utf-8"), ("UTF-8", "utf-8-sig"), ("UTF-16", "utf-16"), (None, "utf-16"), ("UTF-16LE", "utf-16-le"),
    ("UTF-16BE", "utf-16-be"), ("UTF-32", "utf-32"), (None, "utf-32"), ("UTF-32BE", "utf-32-be"), ("cp500", "cp500"),
], ids=lambda v: str(v))
def test_issue_reproduce_is_one_line_and_never_reads_a_file_or_a_fifo(tmp_path, decl, codec):
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    prolog = (f'<!DOCTYPE r [<!ENTITY % f SYSTEM "{secret.as_uri()}"> <!ENTITY % g SYSTEM "{fifo.as_uri()}"> %f; %g;]>')
    xml = tmp_path / "p.xml"
    xml.write_bytes(_doc(decl, codec, prolog))
    started = time.monotonic()
    result = naysayer("inspect", "--xml", str(xml), "--no-ocr", timeout=60)  # blocked forever on the FIFO before
    one_line_error(result, "DOCTYPE")
    assert SECRET not in result.stdout + result.stderr and "secret.txt" not in result.stderr
    assert time.monotonic() - started < 60


def test_an_apps_text_full_of_attribute_lookalikes_is_not_refused():
    # the app chooses its text; only uiautomator's attributes count towards the bound
    looks_like = " ".join(f'a{i}="x"' for i in range(200)).replace('"', "&quot;")
    h = parse_hierarchy(f'<hierarchy><node text="{looks_like}" content-desc=\'{"=" * 500}\'/></hierarchy>')
    assert h.widgets[0].text.startswith('a0="x" a1="x"')
    spread = "<hierarchy><node\n" + "\n".join(f"  a{i} = 'x'" for i in range(MAX_ATTRIBUTES + 1)) + "/></hierarchy>"
    with pytest.raises(BadHierarchy, match="attributes"):
        parse_hierarchy(spread)
