"""The hash chain of a trace: how one link is computed, and the one walker that checks a sequence of links.

    hash = sha256_hex( utf8( prev_hash + "\\n" + str(seq) + "\\n" + format(t, ".6f") + "\\n" + kind + "\\n" + data ) )

`data` is the exact JSON text stored for the step (see crawler/store.py), the first step's prev_hash is GENESIS (64
"0"s) and seq counts from 1 with no gaps. Text read from a damaged store may hold bytes that are not UTF-8: they are
read with `surrogateescape` and hashed as the bytes they are, so damage shows as a broken link, never as an error.

`ChainWalker` is the only code that checks links. Its users: the run store's `verify` (rows from SQLite), export
(before a run is packed) and bundle verification (trace.jsonl, a whole trace from genesis, or a slice checked link by
link against the chain.txt list of every step's hash).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64


def step_hash(prev_hash: str, seq: int, t: float, kind: str, data_text: str) -> str:
    material = f"{prev_hash}\n{seq}\n{format(t, '.6f')}\n{kind}\n{data_text}"
    return hashlib.sha256(material.encode("utf-8", "surrogateescape")).hexdigest()


@dataclass(frozen=True)
class Break:
    """Where a chain stops holding, and why (one phrase: "hash chain broken at step {seq}: {reason}")."""

    seq: int
    reason: str


class ChainWalker:
    """Feed a trace's steps in order to `step`; each call returns None, or the Break at that step (stop there).
    `end` then checks that the chain ends at the head the run (or a manifest) recorded.

    Whole chain (`links` None): steps must follow each other from 1, each linked to the one before.
    Slice (`links`: index i = the hash of step i, index 0 = GENESIS, as chain.txt lists them): steps increase but may
    skip; each must recompute from its own content, its prev_hash must be the link listed before it, and its hash the
    link listed at its place. `links_name` names the list in messages."""

    def __init__(self, links: Sequence[str] | None = None, links_name: str = "chain.txt"):
        self.links, self.links_name = links, links_name
        self.prev = GENESIS  # hash of the last step that held
        self.last = 0  # seq of the last step that held
        self.steps = 0  # steps that held

    def step(self, seq: Any, t: Any, kind: Any, text: Any, prev_hash: Any, digest: Any) -> Break | None:
        expected = self.last + 1
        if not isinstance(seq, int) or isinstance(seq, bool):
            return Break(expected, "a step that does not belong in the sequence")
        if self.links is None:
            if seq < expected:
                return Break(max(seq, 1), "a step that does not belong in the sequence")
            if seq > expected:
                missing = f"step {expected} is missing" if seq == expected + 1 else f"steps {expected}-{seq - 1} are missing"
                return Break(expected, missing)
            prev = self.prev
        else:
            if seq <= self.last or seq >= len(self.links):
                return Break(max(seq, 1), "a step out of sequence")
            prev = self.links[seq - 1]
        if (not isinstance(t, int | float) or isinstance(t, bool) or not isinstance(kind, str)
                or not isinstance(text, str) or not isinstance(prev_hash, str) or not isinstance(digest, str)):
            return Break(seq, "its columns have the wrong types")
        if prev_hash != prev:
            if self.links is None:
                return Break(seq, "its previous-hash does not match the step before it")
            return Break(seq, f"its previous-hash is not the link {self.links_name} records for step {seq - 1}")
        try:
            computed = step_hash(prev, seq, float(t), kind, text)
        except (ValueError, OverflowError):  # text that cannot be encoded (a lone surrogate from hostile JSON)
            computed = ""
        if computed != digest:
            return Break(seq, "its content does not match its hash")
        if self.links is not None and digest != self.links[seq]:
            return Break(seq, f"it is not the link {self.links_name} records there")
        self.prev, self.last, self.steps = digest, seq, self.steps + 1
        return None

    def end(self, head_seq: int, head: str) -> Break | None:
        """A whole chain must end exactly at the recorded head: fewer steps = steps removed, more = steps added."""
        if head_seq > self.last:
            return Break(self.last + 1, f"the run recorded {head_seq} steps but only {self.last} are left "
                                        "(steps removed)")
        if head_seq < self.last:
            return Break(head_seq + 1, "the steps do not end where the run recorded its last step")
        if self.prev != (head if head_seq else GENESIS):
            return Break(max(self.last, 1), "the steps do not end where the run recorded its last step")
        return None
