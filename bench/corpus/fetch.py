"""Bring the corpus files that are not in the repository (their licence does not allow redistribution) into
bench/corpus/cache/, which git ignores.

    .venv/bin/python bench/corpus/fetch.py [--mirror DIR] [--offline]

Each entry names its repository, path and commit; the file is read from a local git mirror when one is given
(`--mirror DIR`: DIR/<owner>+<name>/repo, a bare or non-bare clone holding that commit) and otherwise downloaded from
https://raw.githubusercontent.com/<owner>/<name>/<commit>/<path>. A GIF frame (entry with "frame") is cut out of its
GIF. Every file is checked against the manifest's sha256 before it is written; a mismatch is reported, never stored.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).resolve().parent
RAW = "https://raw.githubusercontent.com/{repo}/{commit}/{path}"
MAX_BYTES = 32 * 1024 * 1024


def _from_mirror(mirror: Path, repo: str, commit: str, path: str) -> bytes | None:
    root = mirror / repo.replace("/", "+") / "repo"
    gitdir = root / ".git" if (root / ".git").is_dir() else root
    if not gitdir.is_dir():
        return None
    done = subprocess.run(["git", "--git-dir", str(gitdir), "show", f"{commit}:{path}"], capture_output=True, check=False)
    return done.stdout if done.returncode == 0 else None


def _from_github(repo: str, commit: str, path: str) -> bytes:
    url = RAW.format(repo=repo, commit=commit, path=urllib.parse.quote(path))
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.read(MAX_BYTES + 1)[:MAX_BYTES]


def _frame(gif: bytes, index: int) -> bytes:
    from PIL import Image

    image = Image.open(io.BytesIO(gif))
    image.seek(index)
    out = io.BytesIO()
    image.convert("RGB").save(out, format="PNG")
    return out.getvalue()


def wanted(entry: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(corpus-relative file, repository path, sha256) of every file the entry needs."""
    files = [(entry["file"], entry["path"], entry["sha256"])]
    if entry.get("image"):
        files.append((entry["image"]["file"], entry["image"]["path"], entry["image"]["sha256"]))
    return files


def fetch(entries: list[dict[str, Any]], mirror: Path | None, offline: bool,
          root: Path = CORPUS) -> tuple[int, list[str]]:
    """Write every missing or changed file of `entries` under `root`; (files written, what failed)."""
    got, failed = 0, []
    for e in entries:
        for rel, path, digest in wanted(e):
            target = root / rel
            if target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == digest:
                continue
            data = _from_mirror(mirror, e["source"], e["commit"], path) if mirror else None
            if data is None and not offline:
                try:
                    data = _from_github(e["source"], e["commit"], path)
                except OSError as exc:
                    failed.append(f"{e['id']}: {path}: {exc}")
                    continue
            if data is None:
                failed.append(f"{e['id']}: {path}: not in the mirror")
                continue
            if e.get("frame") is not None and rel == e["file"]:
                if hashlib.sha256(data).hexdigest() != e.get("container_sha256"):
                    failed.append(f"{e['id']}: {path}: the GIF differs from the manifest")
                    continue
                data = _frame(data, e["frame"])
            if hashlib.sha256(data).hexdigest() != digest:
                failed.append(f"{e['id']}: {path}: sha256 differs from the manifest")
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            got += 1
    return got, failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mirror", type=Path, help="directory of local git mirrors (<owner>+<name>/repo)")
    parser.add_argument("--offline", action="store_true", help="read only from --mirror, never the network")
    parser.add_argument("--all", action="store_true", help="also check the stored files (they are in git)")
    args = parser.parse_args(argv)
    lines = (CORPUS / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    entries = [json.loads(line) for line in lines if line.strip()]
    todo = [e for e in entries if args.all or not e["stored"]]
    got, failed = fetch(todo, args.mirror, args.offline)
    for line in failed:
        print(f"naysayer: {line}", file=sys.stderr)
    print(f"{got} files fetched into {CORPUS / 'cache'}; {len(failed)} failed; {len(todo)} entries checked")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
