"""Parsers of dumpsys and logcat output, on text in the formats Android prints."""

from crawler.android.dumpsys import focused_window, package_state, resumed_activity, screen_size
from crawler.android.logcat import parse_line

DUMPSYS_PACKAGE = """Packages:
  Package [com.example.weather] (5f3a1b2):
    userId=10087
    versionCode=520 minSdk=23 targetSdk=33
    versionName=5.2.0
    requested permissions:
      android.permission.ACCESS_FINE_LOCATION
      android.permission.CAMERA
    install permissions:
      android.permission.INTERNET: granted=true
    User 0: ceDataInode=1 installed=true hidden=false
      runtime permissions:
        android.permission.ACCESS_FINE_LOCATION: granted=false, flags=[ USER_SET|USER_SENSITIVE_WHEN_GRANTED]
        android.permission.CAMERA: granted=true, flags=[ USER_SENSITIVE_WHEN_GRANTED|USER_SENSITIVE_WHEN_DENIED]
        android.permission.RECORD_AUDIO: granted=false, flags=[ USER_SET|USER_FIXED ]
      enabledComponents:
"""


def test_package_state_reads_version_and_runtime_permissions():
    state = package_state("com.example.weather", DUMPSYS_PACKAGE)
    assert state.installed and state.version_name == "5.2.0" and state.version_code == 520
    assert state.permissions["android.permission.ACCESS_FINE_LOCATION"] == {
        "granted": False, "flags": ["USER_SENSITIVE_WHEN_GRANTED", "USER_SET"]}
    assert state.permissions["android.permission.CAMERA"]["granted"] is True
    assert "USER_FIXED" in state.permissions["android.permission.RECORD_AUDIO"]["flags"]
    assert "android.permission.INTERNET" not in state.permissions  # install permissions are not runtime ones


def test_package_state_of_missing_package():
    assert package_state("com.absent.app", "Unable to find package: com.absent.app\n").installed is False


def test_resumed_activity_and_focus():
    activities = "  ResumedActivity: ActivityRecord{8e1f u0 com.android.permissioncontroller/.permission.ui.GrantPermissionsActivity t12}\n"
    fg = resumed_activity(activities)
    assert fg.package == "com.android.permissioncontroller"
    assert fg.activity == "com.android.permissioncontroller.permission.ui.GrantPermissionsActivity"
    windows = "  mCurrentFocus=Window{a1b2c3 u0 com.example.weather/com.example.weather.MainActivity}\n"
    assert focused_window(windows).activity == "com.example.weather.MainActivity"
    assert resumed_activity("nothing here") is None


def test_logcat_events_are_parsed():
    start = parse_line("1767225600.123  2001  2001 I am_proc_start: [0,3005,10087,com.example.weather,activity,{com.example.weather/com.example.weather.MainActivity}]")
    assert (start.type, start.pid, start.uid, start.package, start.reason) == ("proc_start", 3005, 10087, "com.example.weather", "activity")
    assert start.t == 1767225600.123
    died = parse_line("1767225610.500  1000  1100 I am_proc_died: [0,3005,com.example.weather,900,17]")
    assert (died.type, died.pid, died.package) == ("proc_died", 3005, "com.example.weather")
    crash = parse_line("1767225611.000  1000  1100 I am_crash: [3005,0,com.example.weather,952745541,java.lang.IllegalStateException,boom, with comma,Main.java,42,0]")
    assert crash.type == "crash" and crash.package == "com.example.weather" and crash.pid == 3005
    anr = parse_line("1767225612.000  1000  1100 I am_anr: [0,3005,com.example.weather,952745541,Input dispatching timed out]")
    assert anr.type == "anr" and anr.reason.startswith("Input dispatching")


def test_activity_start_and_permission_request_lines():
    launch = parse_line("1767225620.250  1000  1200 I ActivityTaskManager: START u0 {act=android.intent.action.MAIN "
                        "cat=[android.intent.category.LAUNCHER] flg=0x10000000 cmp=com.example.appstore/.MainActivity} from uid 10087")
    assert launch.type == "activity_start" and launch.package == "com.example.appstore" and launch.caller_uid == 10087
    request = parse_line("1767225621.000  1000  1200 I ActivityTaskManager: START u0 {act=android.content.pm.action.REQUEST_PERMISSIONS "
                         "pkg=com.android.permissioncontroller cmp=com.android.permissioncontroller/.permission.ui.GrantPermissionsActivity} from uid 10087")
    assert request.type == "permission_request" and request.caller_uid == 10087


def test_logcat_ignores_other_and_hostile_lines():
    assert parse_line("1767225600.123  2001  2001 D SomeTag: hello") is None
    assert parse_line("garbage") is None
    assert parse_line("x" * 100000) is None


def test_screen_size_prefers_the_override():
    assert screen_size("Physical size: 1080x2400\n") == (1080, 2400)
    assert screen_size("Physical size: 1440x3200\nOverride size: 1080x2400\n") == (1080, 2400)
    assert screen_size("wm: not found") is None


def test_a_huge_version_name_is_bounded_and_marked_not_emptied():
    # the app chooses its version name: 10,000 characters were recorded as "" before
    huge = DUMPSYS_PACKAGE.replace("versionName=5.2.0", "versionName=" + "9.1." * 2500)
    state = package_state("com.example.weather", huge)
    assert state.version_name == ("9.1." * 25) and state.version_name_truncated is True
    normal = package_state("com.example.weather", DUMPSYS_PACKAGE)
    assert normal.version_name == "5.2.0" and normal.version_name_truncated is False
    hostile = package_state("com.example.weather",
                            DUMPSYS_PACKAGE.replace("versionName=5.2.0", "versionName=1.0\x1b[2J\u202e\r"))
    assert hostile.version_name == "1.0[2J" and not hostile.version_name_truncated
