"""The simulated device's mini shell: parsing, connectors, pipes, redirects, exit codes, streaming."""

from __future__ import annotations

import hashlib
import threading
from types import SimpleNamespace

import pytest

from emulator.sim.device import CapturedIO, SimDevice
from emulator.sim.shell.parser import ShellSyntaxError, parse
from emulator.sim.view import ViewNode, Window

SKIN = SimpleNamespace(package="com.android.permissioncontroller",
                       activity="com.android.permissioncontroller.permission.ui.GrantPermissionsActivity",
                       sdk=33, android_version="13", rom="aosp", props={}, deny_dont_ask_on_second=False)


def _dialog(skin, locale, label, group, index, size) -> Window:
    buttons = [ViewNode(cls="android.widget.Button", bounds=(0, 100 * k, 720, 100 * k + 90), text=key,
                        clickable=True, key=key) for k, key in enumerate(("allow", "deny"))]
    return Window(skin.package, skin.activity, ViewNode(bounds=(0, 0, 720, 400), children=buttons), modal=True)


@pytest.fixture
def device(tmp_path):
    return SimDevice("emulator-5554", skin=SKIN, storage_dir=tmp_path, permission_dialog=_dialog)


def test_quotes_variables_and_escapes(device):
    result = device.run("""X=wor; echo 'a  $X' "b ${X}ld" c\\ d "" e""")
    assert result.text == "a  $X b world c d  e\n"


def test_status_connectors_and_exit_code_marker(device):
    assert device.run("false; echo X4EXIT:$?").text == "X4EXIT:1\n"
    assert device.run("false && echo no || echo yes").text == "yes\n"
    assert device.run("true && echo a; echo b").text == "a\nb\n"
    result = device.run("definitely-not-a-command; echo X4EXIT:$?")
    assert result.text == "X4EXIT:127\n"
    assert result.stderr == b"/system/bin/sh: definitely-not-a-command: not found\n"
    assert device.run("nosuch").status == 127


def test_pipes_filter_lines(device):
    assert device.run("echo hello | grep -c hel").text == "1\n"
    assert device.run("getprop | grep -E 'model|brand' | wc -l").text == "2\n"
    assert device.run("echo abc | grep -v abc").status == 1
    assert device.run("echo ABC | grep -i abc").text == "ABC\n"


def test_redirects_write_device_files(device, tmp_path):
    device.run("echo hi > /data/local/tmp/f.txt; echo more >> /data/local/tmp/f.txt")
    assert (tmp_path / "data/local/tmp/f.txt").read_text() == "hi\nmore\n"
    assert device.run("cat /data/local/tmp/f.txt").text == "hi\nmore\n"
    quiet = device.run("cat /nope 2>/dev/null; echo $?")
    assert quiet.text == "1\n" and quiet.stderr == b""
    merged = device.run("cat /nope 2>&1")
    assert b"No such file" in merged.stdout


def test_paths_cannot_leave_the_device(device, tmp_path):
    (tmp_path.parent / "outside.txt").write_text("secret")
    assert b"secret" not in device.run("cat /../outside.txt").stdout
    assert device.run("cat ../../outside.txt").status == 1


def test_md5sum_format_matches_toybox(device, tmp_path):
    (tmp_path / "data/local/tmp/u2.jar").write_bytes(b"jar-bytes")
    digest = hashlib.md5(b"jar-bytes").hexdigest()
    assert device.run("toybox md5sum /data/local/tmp/u2.jar").text == f"{digest}  /data/local/tmp/u2.jar\n"
    missing = device.run("toybox md5sum /data/local/tmp/none.jar")
    assert missing.status == 1 and missing.stdout == b""


def test_syntax_errors_are_reported_not_raised(device):
    with pytest.raises(ShellSyntaxError):
        parse("echo 'open")
    result = device.run("echo 'open")
    assert result.status == 2 and b"syntax error" in result.stderr


def test_sleep_moves_the_virtual_clock(device):
    before = float(device.run("date +%s.%N").text)
    assert device.run("sleep 2.5").status == 0
    assert float(device.run("date +%s.%N").text) == pytest.approx(before + 2.5)
    assert device.run("date +%s").text == "1767225602\n"


def test_streaming_logcat_follows_new_lines_until_closed(device):
    io = CapturedIO()
    status: list[int] = []
    worker = threading.Thread(target=lambda: status.append(device.shell("logcat -b events | grep am_kill", io)))
    worker.start()
    device.run("monkey -p com.android.settings -c android.intent.category.LAUNCHER 1")
    with device.lock:
        device.system.event("am_kill", "[0,2000,com.x,0,test]")
    for _ in range(100):
        if b"am_kill" in io.out:
            break
        io.wait_closed(0.05)
    io.close()
    worker.join(timeout=5)
    assert not worker.is_alive()
    assert b"I am_kill : [0,2000,com.x,0,test]" in io.out  # tag padded to 8, as logprint does


def test_app_process_blocks_until_the_client_closes(device):
    io = CapturedIO()
    worker = threading.Thread(target=device.shell, args=(
        "CLASSPATH=/data/local/tmp/u2.jar app_process / com.wetest.uia2.Main -p 9008", io))
    worker.start()
    worker.join(timeout=0.3)
    assert worker.is_alive()
    io.close()
    worker.join(timeout=5)
    assert not worker.is_alive() and io.err == b""


def test_grep_context_lines(device, tmp_path):
    (tmp_path / "data/local/tmp/t.txt").write_text("a\nkey\nb\nc\n")
    assert device.run("grep -A1 key /data/local/tmp/t.txt").text == "key\nb\n"
    assert device.run("cat /data/local/tmp/t.txt | grep -B 1 key").text == "a\nkey\n"
