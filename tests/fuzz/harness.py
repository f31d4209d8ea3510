"""Run hostile inputs against naysayer under a time and a memory bound, and say how each one ended.

A case is a name plus EITHER a `naysayer` command line (`argv`) OR a function (`call`), and the input files it needs:

    from tests.fuzz.harness import Case, FIFO, run_cases

    cases = [
        Case("utf16-doctype", argv=["inspect", "--xml", "p.xml", "--no-ocr"], files={"p.xml": data}),
        Case("fifo-xml", argv=["inspect", "--xml", "p.xml"], files={"p.xml": FIFO}),
        Case("parse-deep", call="crawler.screen:parse_hierarchy", args=(b"<hierarchy>...",)),
        Case("bundle-flip-17", argv=["verify", "b.zip", "--pub", "k.pub"], setup="tests.fuzz.bundles:make_flip",
             setup_args=(17,), expect={"clean_error", "refused"}),
    ]
    report = run_cases(cases)            # any iterable: cases are pulled lazily, so a generator of 8 MB inputs is fine
    print(report.table())                # counts per outcome, as a markdown table
    assert not report.failures(), report.describe_failures()

Every case runs in its own empty folder (the working directory while it runs), inside a worker child process:

* `files` ({relative path: bytes | FIFO}) are written there first (FIFO makes a named pipe nobody writes to);
  `setup` ("module:function", called as function(folder, *setup_args)) may build more (a run folder, a bundle).
* `argv`: `crawler.cli.main(argv)` runs in the worker; "{dir}" in an argument is replaced by the case folder.
  File descriptors 0/1/2 are /dev/null and two files, so what C libraries (libpng, libjpeg) write is seen too.
  With `quiet=True` a case that succeeds must also leave stderr empty.
* `call`: "module:function" called as function(*args) (with `pass_dir=True`: function(folder, *args)). It may
  return an outcome name ("refused", ...) to say how it ended; None means "accepted".

Outcomes (OUTCOMES). Fine: accepted (exit 0 / returned), clean_error (exit 2 and stderr is exactly one line
"naysayer: ..."; for a call: an exception the CLI treats as a user error, with a one-line message and nothing
written to stderr), refused (exit 1 with no traceback: a command's negative answer, e.g. a bundle that does not
verify). Failures (FAILURES): crash (a traceback, an unexpected exception, another exit code, the worker killed by a
signal), hang (over the case's `timeout`), over_memory (MemoryError under the address-space bound), bad_error (exit 2
but stderr is not exactly one "naysayer: " line, a call's user error with a multi-line message, anything a call
writes to stderr, or stderr output from a `quiet` command that succeeded),
unexpected (a fine outcome the case's `expect` set does not allow, e.g. a tampered bundle that verified, or one
of the case's `forbid` strings in its stdout, stderr or error: a leaked secret).

Bounds: each worker runs under resource.setrlimit(RLIMIT_AS) = its address space after imports + `memory_mb`; each
case under its own `timeout` (seconds; the worker is killed and replaced when a case overruns it). Workers take many
cases each (they are replaced only after a hang or a crash), so thousands of small cases run in seconds.

Also a command: `python -m tests.fuzz.harness MODULE[:FUNCTION] ...` runs the cases that FUNCTION (default `cases`)
of each module yields and prints the table; the exit status is 1 when any case failed.
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import os
import pickle
import resource
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]

FINE = ("accepted", "clean_error", "refused")
FAILURES = ("crash", "hang", "over_memory", "bad_error", "unexpected")
OUTCOMES = FINE + FAILURES
TRACEBACK = "Traceback (most recent call last)"
KEEP_OUTPUT = 2000  # characters of stdout / stderr kept per result


class _Fifo:
    def __repr__(self) -> str:
        return "FIFO"


FIFO = _Fifo()  # as a value in Case.files: a named pipe that nobody ever writes to


@dataclass
class Case:
    """One hostile input and how to feed it to naysayer (see the module docstring)."""

    name: str
    argv: list[str] | None = None
    call: str | None = None
    args: tuple = ()
    pass_dir: bool = False
    files: dict[str, Any] = field(default_factory=dict)
    setup: str | None = None
    setup_args: tuple = ()
    timeout: float = 10.0
    expect: frozenset[str] | set[str] | None = None  # fine outcomes allowed; None = any of FINE
    forbid: tuple[str, ...] = ()  # strings that must never appear in stdout, stderr or the error (a leaked secret)
    quiet: bool = False  # an argv case that succeeds must write nothing to stderr (a library's warnings, say)

    def __post_init__(self) -> None:
        if (self.argv is None) == (self.call is None):
            raise ValueError(f"case {self.name!r}: give exactly one of argv and call")
        if self.expect is not None:
            unknown = set(self.expect) - set(FINE)
            if unknown:
                raise ValueError(f"case {self.name!r}: expect names no fine outcome: {sorted(unknown)}")


@dataclass
class Result:
    name: str
    outcome: str
    exit: int | None = None
    stderr: str = ""
    stdout: str = ""
    seconds: float = 0.0
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.outcome in FAILURES


@dataclass
class Report:
    results: list[Result]
    seconds: float
    memory_mb: int

    @property
    def counts(self) -> Counter:
        return Counter(r.outcome for r in self.results)

    def failures(self) -> list[Result]:
        return [r for r in self.results if r.failed]

    def slowest(self, n: int = 5) -> list[Result]:
        return sorted(self.results, key=lambda r: r.seconds, reverse=True)[:n]

    def table(self, title: str = "cases") -> str:
        """A markdown table: one row, a column per outcome."""
        counts = self.counts
        head = f"| {title} | " + " | ".join(OUTCOMES) + " | wall s |"
        rule = "|---|" + "---:|" * (len(OUTCOMES) + 1)
        row = f"| {len(self.results)} | " + " | ".join(str(counts.get(o, 0)) for o in OUTCOMES) + \
              f" | {self.seconds:.1f} |"
        return f"{head}\n{rule}\n{row}"

    def describe_failures(self, limit: int = 20) -> str:
        lines = []
        for r in self.failures()[:limit]:
            tail = (r.detail or r.stderr).strip().splitlines()[-3:]
            lines.append(f"{r.outcome}: {r.name} (exit {r.exit}, {r.seconds:.1f}s): " + " / ".join(tail)[:600])
        more = len(self.failures()) - limit
        if more > 0:
            lines.append(f"... {more} more")
        return "\n".join(lines)


# -- the parent side -----------------------------------------------------------------------------------------------
def run_cases(cases: Iterable[Case], *, memory_mb: int = 1024, workers: int = 1,
              on_result: Callable[[Case, Result], None] | None = None) -> Report:
    """Run every case (pulled lazily from `cases`) in `workers` worker processes; return the report."""
    started = time.monotonic()
    source = iter(cases)
    lock = threading.Lock()
    results: list[Result] = []
    root = Path(tempfile.mkdtemp(prefix="naysayer-fuzz-"))
    counter = itertools.count()

    def next_case() -> tuple[int, Case] | None:
        with lock:
            try:
                return next(counter), next(source)
            except StopIteration:
                return None

    def drive(slot: int) -> None:
        worker: _Worker | None = None
        try:
            while (item := next_case()) is not None:
                index, case = item
                if worker is None:
                    worker = _Worker(root / f"w{slot}", memory_mb)
                try:
                    result = worker.run(index, case)
                except Exception as exc:  # noqa: BLE001 - the harness itself failed on this case: say so
                    worker.close()
                    result = Result(case.name, "crash", detail=f"harness: {type(exc).__name__}: {exc}")
                if not worker.alive:
                    worker = None
                with lock:
                    results.append(result)
                    if on_result is not None:
                        on_result(case, result)
        finally:
            if worker is not None:
                worker.close()

    try:
        threads = [threading.Thread(target=drive, args=(slot,), daemon=True) for slot in range(max(1, workers))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return Report(results=results, seconds=time.monotonic() - started, memory_mb=memory_mb)


def _send(fd: int, obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(struct.pack("!Q", len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def _read_exactly(fd: int, n: int, deadline: float | None) -> bytes | None:
    """n bytes from fd, None on EOF; raises TimeoutError at the deadline."""
    chunks, got = [], 0
    while got < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _receive(fd: int, deadline: float | None) -> Any:
    head = _read_exactly(fd, 8, deadline)
    if head is None:
        return None
    body = _read_exactly(fd, struct.unpack("!Q", head)[0], deadline)
    return None if body is None else pickle.loads(body)


_OUT_OF_MEMORY = ("MemoryError", "bad_alloc", "Cannot allocate memory", "Insufficient memory", "out of memory")


def _err_path(folder: Path) -> Path:
    """Where a case's stderr goes: beside its folder, so the case never sees it."""
    return folder.with_name(folder.name + ".stderr")


def _tail(path: Path) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(max(0, path.stat().st_size - 4 * KEEP_OUTPUT))
            return f.read().decode("utf-8", "replace")[-KEEP_OUTPUT:]
    except OSError:
        return ""


class _Worker:
    """One child process that runs cases one after another, under the memory bound."""

    def __init__(self, root: Path, memory_mb: int) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        to_child_r, self.to_child = os.pipe()
        self.from_child, from_child_w = os.pipe()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
        # fewer threads, fewer malloc arenas: the address-space bound then measures the input, not the thread count
        env.update(MALLOC_ARENA_MAX="2", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", PYTHONFAULTHANDLER="1")
        self.log = root / "worker.log"
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tests.fuzz.harness", "--worker", str(to_child_r), str(from_child_w),
                 str(memory_mb)],
                cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                pass_fds=(to_child_r, from_child_w), start_new_session=True)
        os.close(to_child_r)
        os.close(from_child_w)
        self.alive = True
        ready = None
        try:
            ready = _receive(self.from_child, time.monotonic() + 120)
        except TimeoutError:
            pass
        if ready != "ready":
            self.close()
            raise RuntimeError(f"fuzz worker did not start: {_tail(self.log)}")

    def run(self, index: int, case: Case) -> Result:
        folder = self.root / f"c{index}"
        started = time.monotonic()
        try:
            _send(self.to_child, (str(folder), case))
            answer = _receive(self.from_child, started + case.timeout)
        except TimeoutError:
            self.close()
            return Result(case.name, "hang", seconds=time.monotonic() - started, stderr=_tail(_err_path(folder)),
                          detail=f"still running after {case.timeout:g} s (killed)")
        except (BrokenPipeError, OSError) as exc:
            answer = None
            broken = str(exc)
        else:
            broken = ""
        if answer is None:  # the worker died during the case
            code = self.proc.wait(timeout=30)
            self.close()
            why = f"killed by signal {-code}" if code < 0 else f"worker exited {code}"
            stderr = _tail(_err_path(folder))
            outcome = "over_memory" if any(m in stderr for m in _OUT_OF_MEMORY) else "crash"
            return Result(case.name, outcome, exit=code, seconds=time.monotonic() - started, stderr=stderr,
                          detail=f"{why} {broken}".strip())
        shutil.rmtree(folder, ignore_errors=True)
        _err_path(folder).unlink(missing_ok=True)
        return answer

    def close(self) -> None:
        if self.alive:
            self.alive = False
            if self.proc.poll() is None:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)  # our own child's session: it and what it started
                except ProcessLookupError:
                    pass
            self.proc.wait()
            for fd in (self.to_child, self.from_child):
                try:
                    os.close(fd)
                except OSError:
                    pass


# -- the worker side -----------------------------------------------------------------------------------------------
def _resolve(ref: str) -> Callable:
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name or "cases")


def _user_error(exc: BaseException) -> bool:
    from crawler.errors import UserError

    return isinstance(exc, UserError)


def _write_inputs(folder: Path, case: Case) -> None:
    folder.mkdir(parents=True)
    for rel, data in case.files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if data is FIFO or isinstance(data, _Fifo):
            os.mkfifo(path)
        else:
            path.write_bytes(bytes(data))
    if case.setup:
        _resolve(case.setup)(folder, *case.setup_args)


def _judge(case: Case, result: Result) -> Result:
    leaked = [word for word in case.forbid if word in result.detail or word in result.stdout or word in result.stderr]
    if leaked:
        result.outcome, result.detail = "unexpected", f"leaked {leaked[0]!r}: {result.detail}"
        return result
    if TRACEBACK in result.stderr and result.outcome in FINE:
        result.outcome, result.detail = "crash", "a traceback on stderr"
    if result.outcome in FINE and case.expect is not None and result.outcome not in case.expect:
        result.detail = f"{result.outcome}, expected {' or '.join(sorted(case.expect))}"
        result.outcome = "unexpected"
    return result


def _run_one(folder: Path, case: Case, main: Callable) -> Result:
    started = time.monotonic()
    result = Result(case.name, "crash")
    out_path, err_path = folder.with_name(folder.name + ".stdout"), _err_path(folder)
    saved = [os.dup(1), os.dup(2)]
    try:
        _write_inputs(folder, case)
        os.chdir(folder)
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(out.fileno(), 1)
            os.dup2(err.fileno(), 2)
            try:
                if case.argv is not None:
                    argv = [a.replace("{dir}", str(folder)) for a in case.argv]
                    try:
                        code = main(argv)
                    except SystemExit as exc:
                        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
                    result.exit = code
                    result.outcome = {0: "accepted", 1: "refused", 2: "clean_error"}.get(code, "crash")
                else:
                    fn = _resolve(case.call)
                    value = fn(folder, *case.args) if case.pass_dir else fn(*case.args)
                    result.outcome = value if value in FINE else "accepted"
            except MemoryError:
                result.outcome, result.detail = "over_memory", "MemoryError"
            except BaseException as exc:  # noqa: BLE001 - everything that escapes is what we are looking for
                if case.call is not None and _user_error(exc):
                    message = str(exc)
                    if "\n" in message or "\r" in message:
                        result.outcome, result.detail = "bad_error", f"multi-line message: {message[:KEEP_OUTPUT]!r}"
                    else:
                        result.outcome, result.detail = "clean_error", f"{type(exc).__name__}: {message[:500]}"
                else:
                    result.outcome = "crash"
                    result.detail = "".join(traceback.format_exception(exc))[-KEEP_OUTPUT:]
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
    except MemoryError:
        result.outcome, result.detail = "over_memory", "MemoryError while writing the inputs"
    except Exception as exc:  # noqa: BLE001 - a broken case (setup) is reported, not fatal to the worker
        result.outcome, result.detail = "crash", "setup failed: " + "".join(traceback.format_exception(exc))[-1000:]
    finally:
        for fd in saved:
            os.close(fd)
        os.chdir(REPO)
    result.seconds = time.monotonic() - started
    result.stderr = _tail(err_path)
    result.stdout = _tail(out_path)
    # all of the output, not only the tail kept in the result
    leaked = next((w for w in case.forbid if any(_contains(p, w) for p in (out_path, err_path))), None)
    shutil.rmtree(folder, ignore_errors=True)
    out_path.unlink(missing_ok=True)
    err_path.unlink(missing_ok=True)
    if case.argv is not None and result.exit == 2:
        lines = result.stderr.strip("\n").split("\n") if result.stderr.strip() else []
        if len(lines) != 1 or not lines[0].startswith("naysayer: ") or "\r" in lines[0]:
            result.outcome = "bad_error"
            result.detail = f"exit 2 with {len(lines)} stderr line(s)"
    elif result.stderr.strip() and ((case.call is not None and result.outcome in FINE)
                                    or (case.quiet and result.outcome == "accepted")):
        result.outcome, result.detail = "bad_error", "wrote to stderr"
    if leaked is not None:
        result.outcome, result.detail = "unexpected", f"leaked {leaked!r}: {result.detail}"
        return result
    return _judge(case, result)


def _contains(path: Path, word: str) -> bool:
    """Whether the file holds `word`, read in 1 MB blocks (it may be large; the worker's memory is bounded)."""
    needle = word.encode("utf-8")
    tail = b""
    try:
        with open(path, "rb") as f:
            while block := f.read(1 << 20):
                if needle in tail + block:
                    return True
                tail = block[-len(needle):]
    except OSError:
        pass
    return False


def _address_space() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _worker(to_child: int, from_child: int, memory_mb: int) -> None:
    os.chdir(REPO)
    # Everything a case may touch is imported before the bound is set, so the bound measures the case.
    import cv2  # noqa: F401
    import lxml.etree  # noqa: F401
    import numpy  # noqa: F401
    import PIL.Image  # noqa: F401

    cli = importlib.import_module("crawler.cli")
    cli.build_parser()  # imports every command module
    limit = _address_space() + memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    _send(from_child, "ready")
    while True:
        message = _receive(to_child, None)
        if message is None:
            return
        folder, case = message
        try:
            result = _run_one(Path(folder), case, cli.main)
        except BaseException as exc:  # noqa: BLE001 - the harness's own failure on a case is a result, not a death
            result = Result(case.name, "over_memory" if isinstance(exc, MemoryError) else "crash",
                            detail="harness: " + "".join(traceback.format_exception(exc))[-KEEP_OUTPUT:])
        _send(from_child, result)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz.harness", description=__doc__.split("\n")[0])
    parser.add_argument("--worker", nargs=3, type=int, help=argparse.SUPPRESS)
    parser.add_argument("sources", nargs="*", metavar="MODULE[:FUNCTION]", help="case generators (default: cases)")
    parser.add_argument("--memory-mb", type=int, default=1024)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    if args.worker:
        _worker(*args.worker)
        return 0

    def all_cases() -> Iterator[Case]:
        for ref in args.sources:
            yield from _resolve(ref)()

    report = run_cases(all_cases(), memory_mb=args.memory_mb, workers=args.workers)
    print(report.table())
    if report.failures():
        print(report.describe_failures(), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    # run as tests.fuzz.harness, not __main__, so Case and Result pickle under one name on both sides
    sys.exit(importlib.import_module("tests.fuzz.harness").main())
