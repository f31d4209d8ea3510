"""Hostile hierarchy dumps: every encoding, DOCTYPE and entity tricks, truncation, bit flips, NULs, depth, width,
attribute counts, giant text, and the 8 MB shapes of bench/hostile.py.

    cases(bait, full=False)   -> fuzz cases (tests/fuzz/harness.py); `bait` is a folder made by make_bait()
    shapes(size)              -> [(name, bytes)]: hostile shapes of about `size` bytes each (shape(size, i): one)

A dump either parses (the crawl then perceives it) or is one clean BadHierarchy / `naysayer: ...` line; never a
traceback, a hang, a read of a local file, or an external entity's text on the screen.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from pathlib import Path

from tests.fuzz.harness import FIFO, Case

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "xml"
SECRET = "NAYSAYER-FUZZ-SECRET-7f3a"  # the content of the bait file: must never reach stdout or stderr
PARSE = "tests.fuzz.hierarchies:look"

# (declared name or None, python codec that writes the bytes)
ENCODINGS = (
    ("UTF-8", "utf-8"), ("UTF-8", "utf-8-sig"), (None, "utf-8"), (None, "utf-8-sig"),
    ("UTF-16", "utf-16"), (None, "utf-16"), ("UTF-16LE", "utf-16-le"), ("UTF-16BE", "utf-16-be"),
    ("UTF-16", "utf-16-be"), (None, "utf-16-le"), (None, "utf-16-be"),
    ("UTF-32", "utf-32"), (None, "utf-32"), ("UTF-32LE", "utf-32-le"), ("UTF-32BE", "utf-32-be"),
    ("cp500", "cp500"), ("IBM037", "cp037"), ("ebcdic-cp-us", "cp037"),
    ("GB18030", "gb18030"), ("GBK", "gbk"), ("ISO-8859-1", "latin-1"), ("Shift_JIS", "shift_jis"),
)


def look(data: bytes | str) -> int:
    """What the crawl does with a dump: parse, perceive (no pixels), state key, the widgets a strategy sees."""
    from crawler.perceive import perceive
    from crawler.screen import parse_hierarchy
    from crawler.state import state_key
    from strategies.widgets import widgets_of

    hierarchy = parse_hierarchy(data)
    scene = perceive(hierarchy, None, None)
    state_key(hierarchy, scene, "com.example.a")
    widgets_of(hierarchy, "com.example.a")
    return None


def make_bait(folder: Path) -> Path:
    """A folder with a secret file and a FIFO nobody writes to: what an external entity would read."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "secret.txt").write_text(SECRET + "\n")
    (folder / "secret.dtd").write_text(f'<!ENTITY leak "{SECRET}">\n')
    fifo = folder / "fifo"
    if not fifo.exists():
        os.mkfifo(fifo)
    return folder


def _node(i: int, depth: int = 0, extra: str = "", text: str | None = None) -> str:
    label = text if text is not None else f"按钮 {i} button"
    return (f'<node index="{i % 50}" text="{label}" resource-id="com.example.a:id/b{i}" class="android.widget.Button" '
            f'package="com.example.a" content-desc="" checkable="false" checked="false" clickable="true" '
            f'enabled="true" focusable="true" focused="false" scrollable="false" long-clickable="false" '
            f'password="false" selected="false" bounds="[{i % 700},{(i * 37) % 1500}][{i % 700 + 20},'
            f'{(i * 37) % 1500 + 60}]"{extra}')


def _doc(body: str, decl: str | None = "UTF-8", prolog: str = "") -> str:
    head = f'<?xml version="1.0" encoding="{decl}" standalone="yes"?>' if decl else ""
    return (f'{head}{prolog}<hierarchy rotation="0"><node index="0" text="" class="android.widget.FrameLayout" '
            f'package="com.example.a" bounds="[0,0][720,1600]">{body}</node></hierarchy>')


SMALL_BODY = _node(1) + "/>" + _node(2, text="拒绝 deny") + "/>"


def _payloads(bait: Path) -> list[tuple[str, str]]:
    """(name, prolog or full document) that must all be refused: every way to ask for a DTD or an entity."""
    secret, dtd, fifo = (bait / "secret.txt").as_uri(), (bait / "secret.dtd").as_uri(), (bait / "fifo").as_uri()
    leak_body = '<node text="&leak;" bounds="[0,0][10,10]"/>'
    return [
        ("param-entity-file", f'<!DOCTYPE r [<!ENTITY % f SYSTEM "{secret}"> %f;]>'),
        ("param-entity-dtd", f'<!DOCTYPE r [<!ENTITY % f SYSTEM "{dtd}"> %f;]>'),
        ("param-entity-fifo", f'<!DOCTYPE r [<!ENTITY % f SYSTEM "{fifo}"> %f;]>'),
        ("external-dtd", f'<!DOCTYPE hierarchy SYSTEM "{dtd}">'),
        ("external-dtd-fifo", f'<!DOCTYPE hierarchy SYSTEM "{fifo}">'),
        ("public-dtd-http", '<!DOCTYPE hierarchy PUBLIC "-//X//DTD X//EN" "http://127.0.0.1:9/x.dtd">'),
        ("general-entity-file", f'<!DOCTYPE r [<!ENTITY leak SYSTEM "{secret}">]>' + "\x00BODY" + leak_body),
        ("general-entity-internal", f'<!DOCTYPE r [<!ENTITY leak "{SECRET}">]>' + "\x00BODY" + leak_body),
        ("billion-laughs", '<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
                           '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
                           "\x00BODY" + '<node text="&d;&d;&d;&d;&d;"/>'),
        ("lowercase-doctype", f'<!doctype r [<!ENTITY % f SYSTEM "{secret}"> %f;]>'),
        ("spaced-doctype", f'<! DOCTYPE r [<!ENTITY % f SYSTEM "{secret}"> %f;]>'),
        ("entity-only", f'<!ENTITY % f SYSTEM "{secret}">'),
        ("element-decl", "<!DOCTYPE r [<!ELEMENT hierarchy ANY>]>"),
        ("attlist-default", f'<!DOCTYPE r [<!ATTLIST node text CDATA "{SECRET}">]>'),
        ("notation", '<!DOCTYPE r [<!NOTATION n SYSTEM "x">]>'),
        ("doctype-in-comment", f'<!-- <!DOCTYPE r [<!ENTITY % f SYSTEM "{secret}"> %f;]> -->'),
    ]


def _document(prolog_or_body: str, decl: str | None) -> str:
    if "\x00BODY" in prolog_or_body:
        prolog, body = prolog_or_body.split("\x00BODY")
        head = f'<?xml version="1.0" encoding="{decl}"?>' if decl else ""
        return f"{head}{prolog}<hierarchy>{body}</hierarchy>"
    return _doc(SMALL_BODY, decl, prolog_or_body)


def encoding_cases(bait: Path, *, cli: bool) -> list[Case]:
    """Every DOCTYPE/entity payload in every encoding (must be refused, never leak), and the same valid dump in every
    encoding (must parse). With cli=True they run as `naysayer inspect --xml`, else through look()."""
    out = []
    for decl, codec in ENCODINGS:
        tag = f"{decl or 'nodecl'}-{codec}"
        for name, payload in _payloads(bait) + [("valid", "")]:
            text = _document(payload, decl)
            if codec in ("cp500", "cp037", "latin-1", "shift_jis"):
                text = text.replace("按钮", "btn").replace("拒绝", "deny")
            data = text.encode(codec)
            expect = {"accepted"} if name == "valid" else {"clean_error"}
            if cli:
                out.append(Case(f"xml-cli/{tag}/{name}", argv=["inspect", "--xml", "p.xml", "--no-ocr", "--json"],
                                files={"p.xml": data}, expect=expect, forbid=(SECRET,), timeout=20,
                                quiet=True))
            else:
                out.append(Case(f"xml/{tag}/{name}", call=PARSE, args=(data,), expect=expect, forbid=(SECRET,)))
    return out


def _fixtures() -> list[bytes]:
    return [p.read_bytes() for p in sorted(FIXTURES.glob("*.xml"))]


def mangled_cases(seed: int = 11, scale: int = 1) -> list[Case]:
    """Truncations, bit flips, NULs, byte insertions of real dumps; all must end fine (parse or one clean line)."""
    rng = random.Random(seed)
    docs = _fixtures()
    out = []
    for n in range(40 * scale):
        doc = docs[n % len(docs)]
        cut = rng.randrange(len(doc))
        out.append(Case(f"xml/truncated/{n}@{cut}", call=PARSE, args=(doc[:cut],)))
    for n in range(80 * scale):
        doc = bytearray(docs[n % len(docs)])
        for _ in range(1 + n % 8):
            doc[rng.randrange(len(doc))] ^= 1 << rng.randrange(8)
        out.append(Case(f"xml/bitflip/{n}", call=PARSE, args=(bytes(doc),)))
    for n in range(30 * scale):
        doc = bytearray(docs[n % len(docs)])
        junk = rng.choice([b"\x00", b"\x00\x00", b"\r\n", b"\x85", b"\xe2\x80\xa8", b"\xff\xfe", b"\x25", b"<",
                           b"&", b"]]>", b"\xc0\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x1b[2J"])
        at = rng.randrange(len(doc))
        doc[at:at] = junk
        out.append(Case(f"xml/insert/{n}", call=PARSE, args=(bytes(doc),)))
    for n in range(12 * scale):  # a real dump in another encoding, then truncated or flipped there
        decl, codec = ENCODINGS[n % len(ENCODINGS)]
        text = docs[n % len(docs)].decode("utf-8")
        try:
            data = bytearray(text.encode(codec))
        except UnicodeEncodeError:
            data = bytearray(_doc(SMALL_BODY.replace("按钮", "b").replace("拒绝", "d"), decl).encode(codec))
        data[rng.randrange(len(data))] ^= 0x40
        out.append(Case(f"xml/encoded-flip/{codec}/{n}", call=PARSE, args=(bytes(data),)))
        out.append(Case(f"xml/encoded-cut/{codec}/{n}", call=PARSE, args=(bytes(data[: rng.randrange(len(data))]),)))
    return out


def _chain(depth: int, leaf: str = "") -> str:
    return '<node text="d">' * depth + leaf + "</node>" * depth


def structure_cases() -> list[Case]:
    """Depth, width, attributes, node counts, sizes, roots, numbers, characters: at, below and over each bound."""
    from crawler.screen import MAX_ATTRIBUTES, MAX_BYTES, MAX_CHILDREN, MAX_DEPTH, MAX_NODES

    def attrs(n: int) -> str:
        return "<hierarchy><node " + " ".join(f'a{i}="x"' for i in range(n - 1)) + ' text="t"/></hierarchy>'

    docs: list[tuple[str, bytes | str, set | None]] = [
        ("empty", b"", {"clean_error"}), ("spaces", b"  \n\t ", {"clean_error"}), ("bom-only", b"\xef\xbb\xbf", None),
        ("utf16-bom-only", b"\xff\xfe", None), ("nul", b"\x00", None), ("nuls", b"\x00" * 1000, None),
        ("not-xml", b"hello world", {"clean_error"}), ("json", b'{"hierarchy": []}', {"clean_error"}),
        ("foreign-root", b"<html><body/></html>", {"clean_error"}), ("bare-node", b'<node text="x"/>', {"accepted"}),
        ("empty-hierarchy", b"<hierarchy/>", {"accepted"}), ("ns-root", b'<x:hierarchy xmlns:x="u"/>', None),
        ("two-roots", b"<hierarchy/><hierarchy/>", {"clean_error"}), ("trailing", b"<hierarchy/>junk", None),
        ("text-root", b"<hierarchy>text only</hierarchy>", None),
        ("foreign-inside", b'<hierarchy><div><node text="x"/></div><node text="y"/></hierarchy>', {"accepted"}),
        ("undefined-entity", b'<hierarchy><node text="&nope;"/></hierarchy>', {"clean_error"}),
        ("charref-nul", b'<hierarchy><node text="&#0;"/></hierarchy>', {"clean_error"}),
        ("charref-surrogate", b'<hierarchy><node text="&#xD800;"/></hierarchy>', {"clean_error"}),
        ("charref-huge", b'<hierarchy><node text="&#99999999999999;"/></hierarchy>', {"clean_error"}),
        ("charref-bidi", b'<hierarchy><node text="&#x202E;evil&#x200B;&#x85;&#x2028;"/></hierarchy>', {"accepted"}),
        ("charref-escape", b'<hierarchy><node text="&#x1b;[2J"/></hierarchy>', {"clean_error"}),
        ("dup-attr", b'<hierarchy><node text="a" text="b"/></hierarchy>', {"clean_error"}),
        ("huge-numbers", (b'<hierarchy rotation="99999999999999999999999"><node index="-99999999999999999999" '
                         b'bounds="[99999999999999999999,0][1,1]"/></hierarchy>'), {"accepted"}),
        ("neg-bounds", b'<hierarchy><node clickable="true" bounds="[-5,-5][-1,-1]"/></hierarchy>', {"accepted"}),
        ("xinclude", (b'<hierarchy xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="/etc/passwd" '
                     b'parse="text"/></hierarchy>'), {"accepted"}),
        ("stylesheet-pi", b'<?xml-stylesheet href="http://127.0.0.1:9/x.xsl"?><hierarchy/>', {"accepted"}),
        ("xml-decl-late", b' <?xml version="1.0"?><hierarchy/>', {"clean_error"}),
        ("unknown-encoding", b'<?xml version="1.0" encoding="x-nope"?><hierarchy/>', {"clean_error"}),
        ("escape-encoding", b'<?xml version="1.0" encoding="unicode_escape"?><hierarchy/>', {"clean_error"}),
        ("rot13-encoding", b'<?xml version="1.0" encoding="rot13"?><hierarchy/>', {"clean_error"}),
        ("utf7-encoding", b'<?xml version="1.0" encoding="UTF-7"?><hierarchy/>', {"clean_error"}),
        ("long-encoding", b'<?xml version="1.0" encoding="' + b"a" * 5000 + b'"?><hierarchy/>', {"clean_error"}),
        ("bad-encoding-name", b'<?xml version="1.0" encoding="utf\n8"?><hierarchy/>', {"clean_error"}),
        ("utf16-decl-ascii", b'<?xml version="1.0" encoding="UTF-16"?><hierarchy/>', {"clean_error"}),
        ("ebcdic-decl-ascii", b'<?xml version="1.0" encoding="cp500"?><hierarchy/>', {"clean_error"}),
        ("utf8-bom-utf16-decl", b'\xef\xbb\xbf<?xml version="1.0" encoding="UTF-16"?><hierarchy/>', None),
        ("utf16-lone-surrogate", '<hierarchy><node text="'.encode("utf-16-le") + b"\x00\xd8" +
         '"/></hierarchy>'.encode("utf-16-le"), {"clean_error"}),
        ("invalid-utf8", b'<hierarchy><node text="\xff\xfe\xc0\x80"/></hierarchy>', {"clean_error"}),
        ("ebcdic-nel", '<?xml version="1.0" encoding="cp500"?><hierarchy>\x85<node/></hierarchy>'.encode("cp500"),
         None),
        ("nul-in-name", b"<hier\x00archy/>", {"clean_error"}),
        ("newline-in-tag", b"<hierarchy><node\n\n/><\nbad/></hierarchy>", {"clean_error"}),
        ("cdata-doctype", b"<hierarchy><![CDATA[<!DOCTYPE x>]]></hierarchy>", {"clean_error"}),
        ("cdata", b"<hierarchy><![CDATA[ ok ]]></hierarchy>", {"accepted"}),
        ("str-input", _doc(SMALL_BODY), {"accepted"}),
        ("str-with-decl-utf16", '<?xml version="1.0" encoding="UTF-16"?>' + _doc(SMALL_BODY, None), {"accepted"}),
        ("str-doctype", '<!DOCTYPE r [<!ENTITY % f SYSTEM "file:///etc/passwd"> %f;]><hierarchy/>',
         {"clean_error"}),
    ]
    for depth in (MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, 255, 256, 257, 1000, 100_000):
        expect = {"accepted"} if depth <= MAX_DEPTH else {"clean_error"}
        docs.append((f"depth-{depth}", f"<hierarchy>{_chain(depth)}</hierarchy>".encode(), expect))
    docs.append(("depth-unclosed-1e6", b"<hierarchy>" + b"<node>" * 1_000_000, {"clean_error"}))
    docs.append(("depth-foreign-1e5", b"<hierarchy>" + b"<a>" * 100_000 + b"</a>" * 100_000 + b"</hierarchy>",
                 {"clean_error"}))
    for n in (20, MAX_ATTRIBUTES, MAX_ATTRIBUTES + 1, 1000, 200_000, 700_000):
        docs.append((f"attributes-{n}", attrs(n).encode(), {"accepted"} if n <= MAX_ATTRIBUTES else {"clean_error"}))
    for n in (MAX_CHILDREN, MAX_CHILDREN + 1, 400_000):
        body = '<node text="w"/>' * n
        docs.append((f"children-{n}", f"<hierarchy><node>{body}</node></hierarchy>".encode(),
                     {"accepted"} if n <= MAX_CHILDREN else {"clean_error"}))
    for n in (MAX_NODES - 1, MAX_NODES, MAX_NODES + 1):
        parts, left = [], n
        while left:
            kids = min(MAX_CHILDREN, left - 1)
            parts.append("<node>" + '<node text="n"/>' * kids + "</node>")
            left -= 1 + kids
        body = "".join(parts)
        docs.append((f"nodes-{n}", f"<hierarchy>{body}</hierarchy>".encode(),
                     {"accepted"} if n <= MAX_NODES else {"clean_error"}))
    for n, expect in ((MAX_CHILDREN, {"accepted"}), (40_000, {"clean_error"})):
        docs.append((f"windows-{n}", ("<hierarchy>" + '<node package="p" bounds="[0,0][720,1600]"/>' * n +
                                      "</hierarchy>").encode(), expect))
    big = MAX_BYTES - 200
    docs.append(("giant-text-attr", f'<hierarchy><node text="{"字" * (big // 3)}"/></hierarchy>'.encode(),
                 {"accepted"}))
    docs.append(("giant-text-content", ("<hierarchy><node>" + "x" * big + "</node></hierarchy>").encode(),
                 {"accepted"}))
    docs.append(("giant-comment", ("<hierarchy><!--" + "x" * big + "--></hierarchy>").encode(), {"accepted"}))
    docs.append(("giant-cdata", ("<hierarchy><![CDATA[" + "x" * big + "]]></hierarchy>").encode(), {"accepted"}))
    docs.append(("giant-name", ("<hierarchy><" + "n" * big + "/></hierarchy>").encode(), None))
    docs.append(("giant-attr-name", ("<hierarchy><node " + "a" * big + '="1"/></hierarchy>').encode(), None))
    docs.append(("charrefs", ("<hierarchy><node text=\"" + "&#x41;" * (big // 6) + "\"/></hierarchy>").encode(),
                 {"accepted"}))
    docs.append(("over-size", b"<hierarchy>" + b" " * MAX_BYTES + b"</hierarchy>", {"clean_error"}))
    docs.append(("over-size-str", "<hierarchy>" + " " * MAX_BYTES + "</hierarchy>", {"clean_error"}))
    docs.append(("utf32-giant", _doc(SMALL_BODY * 3000, "UTF-32").encode("utf-32"), None))
    return [Case(f"xml/shape/{name}", call=PARSE, args=(data,), expect=expect, timeout=30)
            for name, data, expect in docs]


def cli_cases(bait: Path) -> list[Case]:
    """The inputs `naysayer inspect --xml` gets from a user: FIFOs, folders, devices, odd names, the issue's file."""
    reproduce = ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r [<!ENTITY % f SYSTEM "file:///etc/passwd"> %f;]>'
                 '<hierarchy/>').encode("utf-16")
    inspect = ["inspect", "--no-ocr", "--xml"]
    return [
        Case("xml-cli/issue-reproduce", argv=[*inspect, "p.xml"], files={"p.xml": reproduce},
             expect={"clean_error"}, forbid=("root:", "passwd")),
        Case("xml-cli/fifo", argv=[*inspect, "p.xml"], files={"p.xml": FIFO}, expect={"clean_error"}),
        Case("xml-cli/folder", argv=[*inspect, "d"], files={"d/x": b""}, expect={"clean_error"}),
        Case("xml-cli/dev-zero", argv=[*inspect, "/dev/zero"], expect={"clean_error"}),
        Case("xml-cli/missing", argv=[*inspect, "nope.xml"], expect={"clean_error"}),
        Case("xml-cli/newline-name", argv=[*inspect, "a\nb.xml"], files={"a\nb.xml": b"\x00"},
             expect={"clean_error"}),
        Case("xml-cli/nul-content", argv=[*inspect, "p.xml"], files={"p.xml": b"<hierarchy>\x00\n\x00</hierarchy>"},
             expect={"clean_error"}),
        Case("xml-cli/ebcdic-newlines", argv=[*inspect, "p.xml"],
             files={"p.xml": '<?xml version="1.0" encoding="cp500"?><hierarchy>\x85<bad\x85'.encode("cp500")},
             expect={"clean_error"}),
        Case("xml-cli/too-big", argv=[*inspect, "p.xml"], files={"p.xml": b" " * (8 * 1024 * 1024 + 1)},
             expect={"clean_error"}),
        Case("xml-cli/attributes-200000", argv=[*inspect, "p.xml"],
             files={"p.xml": ("<hierarchy><node " + " ".join(f'a{i}="x"' for i in range(200_000)) +
                              "/></hierarchy>").encode()}, expect={"clean_error"}, timeout=20),
        Case("xml-cli/valid", argv=[*inspect, "p.xml"], files={"p.xml": _doc(SMALL_BODY).encode()},
             expect={"accepted"}),
    ]


def cases(bait: Path | None = None, full: bool = False) -> list[Case]:
    """The hierarchy fuzz cases: the fast set (for `make test`), or with full=True the sweep (for `make bench`)."""
    import tempfile

    bait = make_bait(bait or Path(tempfile.mkdtemp(prefix="naysayer-bait-")))
    out = encoding_cases(bait, cli=False) + mangled_cases(scale=4 if full else 1) + cli_cases(bait)
    out += encoding_cases(bait, cli=True) if full else encoding_cases(bait, cli=True)[::9]
    if full:
        from crawler.screen import MAX_BYTES

        out += structure_cases()
        out += [Case(f"xml/8MB/{name}", call=PARSE, args=(data,), timeout=60) for name, data in shapes(MAX_BYTES - 4096)]
    else:
        out += [c for c in structure_cases() if len(c.args[0]) < 3_000_000]
    return out


# -- 8 MB hostile shapes (bench/hostile.py) --------------------------------------------------------------------------
def _fill(unit_of, limit: int) -> list[str]:
    """unit_of(0), unit_of(1)... until `limit` UTF-8 bytes."""
    parts, total, i = [], 0, 0
    while total < limit:
        part = unit_of(i)
        parts.append(part)
        total += len(part.encode())
        i += 1
    return parts


def _groups(parts: list[str], size: int) -> str:
    """Nodes in groups of `size` children under plain container nodes: wide, but within the width bound."""
    return "".join("<node>" + "".join(parts[k:k + size]) + "</node>" for k in range(0, len(parts), size))


def _shape_builders(size: int) -> list[tuple[str, Callable[[], bytes]]]:
    from crawler.screen import MAX_CHILDREN, MAX_DEPTH

    room = size - 400
    width = MAX_CHILDREN - 1
    chain = MAX_DEPTH - 3

    def realistic(limit: int, text: Callable[[int], str | None] = lambda i: None) -> list[str]:
        return _fill(lambda i: _node(i, text=text(i)) + "/>", limit)

    def deep() -> bytes:
        nodes = realistic(room - (room // 300) * 7)  # room for the closing tags
        groups = [nodes[k:k + chain] for k in range(0, len(nodes), chain)]
        return _doc("".join("".join(n[:-2] + ">" for n in g) + "</node>" * len(g) for g in groups)).encode()

    return [
        ("one node, many attributes",
         lambda: ("<hierarchy><node" + "".join(_fill(lambda i: f' a{i}="x"', room)) + "/></hierarchy>").encode()),
        ("nodes of 60 attributes", lambda: _doc(_groups(_fill(
            lambda i: "<node" + "".join(f' a{k}="{i}"' for k in range(60)) + "/>", room), width)).encode()),
        (f"wide ({width:,} children per node)", lambda: _doc(_groups(realistic(room), width)).encode()),
        ("wide, over the bound", lambda: _doc("".join(_fill(lambda i: '<node text="w"/>', room))).encode()),
        (f"deep ({chain}-level chains)", deep),
        ("deep, over the bound", lambda: ("<hierarchy>" + '<node text="d">' * (room // 15)).encode()),
        ("many tiny nodes, over the node bound", lambda: _doc(_groups(_fill(lambda i: "<node/>", room * 9 // 10), 1000))
         .encode()),
        ("giant text attribute", lambda: ('<hierarchy><node text="' + "字" * (room // 3) + '"/></hierarchy>').encode()),
        ("UTF-32, realistic nodes", lambda: _doc(_groups(realistic(room // 4, lambda i: f"b{i}"), width), "UTF-32")
         .encode("utf-32")),
    ]


def shape_names() -> list[str]:
    return [name for name, _ in _shape_builders(4096)]


def shape(size: int, index: int) -> tuple[str, bytes]:
    """One hostile dump of about `size` bytes (bench/hostile.py builds one per process)."""
    name, build = _shape_builders(size)[index]
    return name, build()


def shapes(size: int) -> list[tuple[str, bytes]]:
    """Hostile dumps of about `size` bytes each, at and over each bound."""
    return [(name, build()) for name, build in _shape_builders(size)]
