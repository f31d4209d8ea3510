"""The mini shell's grammar: words with quoting, `;` `&&` `||` `|` `&`, `VAR=x cmd`, redirects `>` `>>` `2>` `2>&1` `<`.

Expansion ($?, $VAR, ${VAR}, $$) happens at run time, because `$?` changes between the commands of one line.
No globbing, no command substitution, no control flow: clients send command lines and small scripts (`sh FILE`,
with `$1`.., `cmd &`, `$!`, `read`, `wait`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

Segment = tuple[str, str]  # (kind, text): kind "lit" (unquoted), "dq" (double-quoted), "sq" (literal)

_OPERATORS = ("&&", "||", ";", "|", "&", "\n")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ASSIGN = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=")
MAX_LINE = 256 * 1024  # one command line; anything bigger is refused, not parsed


class ShellSyntaxError(ValueError):
    """The command line cannot be parsed (unterminated quote, missing redirect target)."""


@dataclass
class Word:
    segments: list[Segment]

    def expand(self, variables: dict[str, str]) -> str:
        return "".join(text if kind == "sq" else expand_text(text, variables) for kind, text in self.segments)

    def literal(self) -> str:
        return "".join(text for _, text in self.segments)


@dataclass
class Redirect:
    fd: int  # 0 stdin, 1 stdout, 2 stderr
    op: str  # ">" | ">>" | "<" | ">&"
    target: Word | None = None  # None with op ">&": dup to `dup_fd`
    dup_fd: int = 1


@dataclass
class Command:
    words: list[Word] = field(default_factory=list)
    assignments: list[tuple[str, Word]] = field(default_factory=list)
    redirects: list[Redirect] = field(default_factory=list)


@dataclass
class Pipeline:
    commands: list[Command]


@dataclass
class Step:
    """A pipeline and the connector that decides whether it runs: ';' (always), '&&', '||'."""

    connector: str
    pipeline: Pipeline
    background: bool = False  # `cmd &`: runs as a job; the line goes on at once


def expand_text(text: str, variables: dict[str, str]) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch != "$" or i + 1 >= len(text):
            out.append(ch)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt in "?$#!@" or nxt.isdigit():
            out.append(variables.get(nxt, ""))
            i += 2
        elif nxt == "{":
            end = text.find("}", i + 2)
            if end < 0:
                out.append(text[i:])
                break
            out.append(variables.get(text[i + 2 : end], ""))
            i = end + 1
        else:
            m = _NAME.match(text, i + 1)
            if m:
                out.append(variables.get(m.group(0), ""))
                i = m.end()
            else:
                out.append(ch)
                i += 1
    return "".join(out)


def _tokenize(line: str) -> list[Word | str]:
    tokens: list[Word | str] = []
    segments: list[Segment] = []
    started = False  # a word is open (possibly empty: '' is a word)
    i, n = 0, len(line)

    def end_word() -> None:
        nonlocal segments, started
        if started:
            tokens.append(Word(segments))
        segments, started = [], False

    while i < n:
        ch = line[i]
        if ch in " \t\r":
            end_word()
            i += 1
        elif ch == "#" and not started:
            while i < n and line[i] != "\n":
                i += 1
        elif ch == "'":
            end = line.find("'", i + 1)
            if end < 0:
                raise ShellSyntaxError("no closing quote")
            segments.append(("sq", line[i + 1 : end]))
            started = True
            i = end + 1
        elif ch == '"':
            buf: list[str] = []
            i += 1
            while True:
                if i >= n:
                    raise ShellSyntaxError("no closing quote")
                c = line[i]
                if c == '"':
                    break
                if c == "\\" and i + 1 < n and line[i + 1] in '"\\$`\n':
                    buf.append("\\$" if line[i + 1] == "$" else line[i + 1])
                    i += 2
                    continue
                buf.append(c)
                i += 1
            # an escaped \$ must survive expansion: split it into a literal segment
            text = "".join(buf)
            for k, part in enumerate(text.split("\\$")):
                if k:
                    segments.append(("sq", "$"))
                segments.append(("dq", part))
            started = True
            i += 1
        elif ch == "\\":
            if i + 1 < n and line[i + 1] != "\n":
                segments.append(("sq", line[i + 1]))
                started = True
            i += 2
        elif ch in "<>" or (ch.isdigit() and not started and i + 1 < n and line[i + 1] in "<>"):
            end_word()
            fd = ""
            if ch.isdigit():
                fd, i = ch, i + 1
            op = line[i]
            i += 1
            if op == ">" and i < n and line[i] == ">":
                op, i = ">>", i + 1
            if i < n and line[i] == "&":
                op, i = op + "&", i + 1
            tokens.append(f"{fd}{op}")
        elif ch in ";|&\n":
            end_word()
            two = line[i : i + 2]
            if two in ("&&", "||"):
                tokens.append(two)
                i += 2
            else:
                tokens.append(";" if ch == "\n" else ch)
                i += 1
        else:
            segments.append(("lit", ch))
            started = True
            i += 1
    end_word()
    return tokens


def _merge(segments: list[Segment]) -> list[Segment]:
    merged: list[Segment] = []
    for kind, text in segments:
        if merged and merged[-1][0] == kind:
            merged[-1] = (kind, merged[-1][1] + text)
        else:
            merged.append((kind, text))
    return merged


def parse(line: str) -> list[Step]:
    """Parse one command line into steps. Raises ShellSyntaxError."""
    if len(line) > MAX_LINE:
        raise ShellSyntaxError("command line too long")
    tokens = _tokenize(line)
    steps: list[Step] = []
    connector = ";"
    commands: list[Command] = []
    current = Command()
    i = 0

    def close_command() -> None:
        nonlocal current
        if current.words or current.assignments or current.redirects:
            commands.append(current)
        elif commands:
            raise ShellSyntaxError("unexpected '|'")
        current = Command()

    def close_pipeline(next_connector: str) -> None:
        nonlocal commands, connector
        close_command()
        if commands:
            steps.append(Step(connector, Pipeline(commands)))
        elif next_connector in ("&&", "||"):
            raise ShellSyntaxError(f"unexpected '{next_connector}'")
        commands = []
        connector = next_connector

    while i < len(tokens):
        tok = tokens[i]
        if isinstance(tok, Word):
            tok.segments = _merge(tok.segments)
            first = tok.segments[0] if tok.segments else ("sq", "")
            m = _ASSIGN.match(first[1]) if first[0] == "lit" else None
            if not current.words and m:
                rest = [(first[0], first[1][m.end():])] + tok.segments[1:]
                current.assignments.append((m.group(1), Word(rest)))
            else:
                current.words.append(tok)
            i += 1
        elif tok in (";", "&"):
            before = len(steps)
            close_pipeline(";")
            if tok == "&" and len(steps) > before:
                steps[-1].background = True
            i += 1
        elif tok in ("&&", "||"):
            close_pipeline(tok)
            i += 1
        elif tok == "|":
            close_command()
            i += 1
        else:  # a redirect operator
            fd = int(tok[0]) if tok[0].isdigit() else (0 if "<" in tok else 1)
            op = tok.lstrip("0123456789")
            i += 1
            if op.endswith("&"):
                target = tokens[i] if i < len(tokens) else None
                if not isinstance(target, Word) or not target.literal().isdigit():
                    raise ShellSyntaxError(f"bad fd redirect '{tok}'")
                current.redirects.append(Redirect(fd, ">&", None, int(target.literal())))
                i += 1
                continue
            if i >= len(tokens) or not isinstance(tokens[i], Word):
                raise ShellSyntaxError(f"missing file name after '{tok}'")
            target = tokens[i]
            assert isinstance(target, Word)
            target.segments = _merge(target.segments)
            current.redirects.append(Redirect(fd, op, target))
            i += 1
    close_pipeline(";")
    return steps
