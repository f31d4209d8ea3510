"""The real clients' own device test suites, run against simulated phones.

    .venv/bin/python bench/peer_suites.py --uiautomator2 ../upstream/uiautomator2 --adbutils ../upstream/adbutils

Given checkouts of github.com/openatx/uiautomator2 and github.com/openatx/adbutils (fetched by you; nothing of theirs
is copied into this project), it runs, each against a fresh simulated device with the whole zoo installed:

- adbutils      e2etests/            (the device is ANDROID_SERIAL; some tests dial 127.0.0.1:5037 themselves)
- u2-mobile     uiautomator2 mobile_tests/  (Appium's ApiDemos: the zoo's io.appium.android.apis)
- u2-demo       uiautomator2 demo_tests/    (the zoo's com.example.u2testdemo)

with pytest (the installed adbutils and uiautomator2, not the checkouts' sources), and prints pass/fail per test and
totals as markdown, or JSON with --json. The adbutils tests hard-code the adb server port 5037, so by default the
whole run happens in a private network namespace (`unshare -rn`): its own 127.0.0.1, its own adb server on 5037,
nothing reaching the user's adb server or real phones. --no-netns runs in the host's namespace instead and needs
port 5037 free. Exit status 0 when every suite ran (failures are results, not errors), 2 on a usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

NETNS_MARK = "NAYSAYER_PEER_SUITES_NETNS"
ADB_PORT = 5037
SUITES = {  # name -> (repository option, directory inside the checkout)
    "adbutils": ("adbutils", "e2etests"),
    "u2-mobile": ("uiautomator2", "mobile_tests"),
    "u2-demo": ("uiautomator2", "demo_tests"),
}


@dataclass
class TestResult:
    name: str  # file::test[param]
    outcome: str  # passed | failed | error | skipped
    seconds: float
    message: str = ""


@dataclass
class SuiteResult:
    suite: str
    path: str
    tests: list[TestResult] = field(default_factory=list)
    seconds: float = 0.0
    error: str = ""

    def count(self, outcome: str) -> int:
        return sum(1 for t in self.tests if t.outcome == outcome)

    @property
    def ran(self) -> int:
        return sum(1 for t in self.tests if t.outcome != "skipped")


def fail(message: str) -> int:
    print(f"naysayer: {message}", file=sys.stderr)
    return 2


def parse_junit(path: Path) -> list[TestResult]:
    results: list[TestResult] = []
    for case in ET.parse(path).getroot().iter("testcase"):
        module = (case.get("classname") or "").rsplit(".", 1)[-1]
        name = f"{module}.py::{case.get('name')}"
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            element = case.find(tag)
            if element is not None:
                outcome = {"failure": "failed"}.get(tag, tag)
                message = " ".join((element.get("message") or "").split())[:240]
                break
        results.append(TestResult(name, outcome, float(case.get("time") or 0.0), message))
    return results


def run_suite(name: str, tests_dir: Path, adb_env: dict[str, str], client, timeout: float,
              keyword: str | None) -> SuiteResult:
    from emulator.sim.adb_server import serve_backend
    from emulator.sim.device import SimDevice
    from emulator.zoo import load_zoo

    result = SuiteResult(name, str(tests_dir))
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"peer-{name}-") as tmp:
        work = Path(tmp)
        device = SimDevice("sim-peer", skin="aosp-13", locale="en-US", apps=load_zoo(), storage_dir=work / "storage")
        registered = serve_backend(client, device)
        device.set_serial(registered.serial)
        try:
            env = dict(adb_env, ANDROID_SERIAL=registered.serial, PYTHONDONTWRITEBYTECODE="1")
            env.pop("PYTHONPATH", None)  # the installed clients, never this project's or the checkout's sources
            junit = work / "junit.xml"
            command = [sys.executable, "-m", "pytest", str(tests_dir), "-q", "-p", "no:cacheprovider",
                       "-o", "addopts=", f"--junitxml={junit}", f"--timeout={timeout:g}",
                       "--rootdir", str(tests_dir)]
            if keyword:
                command += ["-k", keyword]
            cwd = work / "cwd"
            cwd.mkdir()
            proc = subprocess.run(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                                  timeout=timeout * 60, check=False)
            if junit.exists():
                result.tests = parse_junit(junit)
            if not result.tests:
                tail = (proc.stdout + proc.stderr).decode("utf-8", "replace").strip().splitlines()[-5:]
                result.error = (f"pytest exit {proc.returncode}: " + " | ".join(tail))[:600]
        finally:
            registered.stop()
            device.close()
    result.seconds = time.monotonic() - started
    return result


def run_all(suites: list[tuple[str, Path]], timeout: float, keyword: str | None) -> list[SuiteResult]:
    from emulator.sim.adb_server import IsolatedAdbServer, server_is_listening

    if server_is_listening(ADB_PORT):
        raise RuntimeError(f"port {ADB_PORT} is in use here (an adb server?): run without --no-netns, or stop it")
    results = []
    with IsolatedAdbServer(port=ADB_PORT) as server:
        for name, path in suites:
            results.append(run_suite(name, path, server.env, server.client, timeout, keyword))
    return results


def markdown(results: list[SuiteResult]) -> str:
    lines = []
    for suite in results:
        lines.append(f"## {suite.suite} ({suite.path})")
        lines.append("")
        if suite.error:
            lines.append(f"did not run: {suite.error}")
            lines.append("")
            continue
        lines.append("| test | result | s | message |")
        lines.append("|---|---|---|---|")
        for test in suite.tests:
            message = test.message.replace("|", "\\|")
            lines.append(f"| {test.name} | {test.outcome} | {test.seconds:.1f} | {message} |")
        lines.append("")
    lines.append("| suite | passed | failed | errors | skipped | passed of run | s |")
    lines.append("|---|---|---|---|---|---|---|")
    for suite in results:
        lines.append(f"| {suite.suite} | {suite.count('passed')} | {suite.count('failed')} | {suite.count('error')} | "
                     f"{suite.count('skipped')} | {suite.count('passed')}/{suite.ran} | {suite.seconds:.0f} |")
    return "\n".join(lines)


def reexec_in_netns(argv: list[str]) -> int | None:
    """Run this script again in a new user+network namespace; None when that is not possible here."""
    unshare = shutil.which("unshare")
    ip = shutil.which("ip")
    if not unshare or not ip:
        return None
    script = f"{ip} link set lo up && exec \"$@\""
    command = [unshare, "-rn", "sh", "-c", script, "sh", sys.executable, str(Path(__file__).resolve()), *argv]
    probe = subprocess.run([unshare, "-rn", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        return None
    return subprocess.run(command, env=dict(os.environ, **{NETNS_MARK: "1"}), check=False).returncode


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--uiautomator2", type=Path, help="a checkout of github.com/openatx/uiautomator2")
    parser.add_argument("--adbutils", type=Path, help="a checkout of github.com/openatx/adbutils")
    parser.add_argument("--suite", action="append", choices=sorted(SUITES), help="run only these (repeatable)")
    parser.add_argument("-k", dest="keyword", help="pytest -k expression, for a quick look at some tests")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per test (default 120)")
    parser.add_argument("--json", action="store_true", help="JSON instead of markdown")
    parser.add_argument("--no-netns", action="store_true", help="stay in this network namespace (needs port 5037)")
    args = parser.parse_args(argv)

    checkouts = {"uiautomator2": args.uiautomator2, "adbutils": args.adbutils}
    if not any(checkouts.values()):
        return fail("give --uiautomator2 and/or --adbutils: checkouts of the upstream repositories")
    suites: list[tuple[str, Path]] = []
    for name, (repo, sub) in SUITES.items():
        if args.suite and name not in args.suite:
            continue
        checkout = checkouts[repo]
        if checkout is None:
            continue
        path = checkout.resolve() / sub
        if not path.is_dir():
            return fail(f"--{repo} {checkout}: no {sub}/ directory there (not a checkout of {repo}?)")
        suites.append((name, path))
    if not suites:
        return fail("no suite selected for the checkouts given")

    if not args.no_netns and not os.environ.get(NETNS_MARK):
        status = reexec_in_netns(argv)
        if status is not None:
            return status
        print("peer_suites: no user namespaces here (unshare -rn); running in this namespace", file=sys.stderr)
    started = time.monotonic()
    try:
        results = run_all(suites, args.timeout, args.keyword)
    except RuntimeError as error:
        return fail(str(error))
    if args.json:
        payload = {
            "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cpu, Python {platform.python_version()}",
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "seconds": round(time.monotonic() - started, 1),
            "suites": [dict(asdict(s), passed=s.count("passed"), failed=s.count("failed"), errors=s.count("error"),
                            skipped=s.count("skipped")) for s in results],
        }
        print(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
