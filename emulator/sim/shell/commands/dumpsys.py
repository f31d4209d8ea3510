"""dumpsys: window, activity, package, display, power, as the fields clients parse them (see adb-wire.md)."""

from __future__ import annotations

import zlib
from datetime import datetime

from emulator.sim.shell.interpreter import CommandSpec, ShellContext
from emulator.sim.system.logcat import DEVICE_TZ
from emulator.sim.system.packages import short_component
from emulator.sim.system.permissions import flags_to_string, group_of


def _hash(text: str) -> str:
    return f"{zlib.crc32(text.encode()) & 0xFFFFFFF:x}"


def _record(package: str, activity: str, task_id: int) -> str:
    short = short_component(package, activity)
    return f"ActivityRecord{{{_hash(f'{task_id}:{short}')} u0 {short} t{task_id}}}"


def _uid_of(ctx: ShellContext, package: str) -> int:
    pkg = ctx.system.packages.find(package)
    return pkg.uid if pkg else 1000


def _pid_of(ctx: ShellContext, package: str) -> int:
    from emulator.sim.shell.commands.ps import system_pid

    proc = ctx.system.processes.get(package)
    return proc.pid if proc else system_pid(ctx, package)


def dump_window(ctx: ShellContext, args: list[str]) -> int:
    """`dumpsys window [windows|displays]`. Android 10+ keeps the focus per display: mCurrentFocus is printed with
    the display (`dumpsys window displays`, and plain `dumpsys window`), no longer by `dumpsys window windows`."""
    system = ctx.system
    package, activity, task = system.resumed()
    focus = system.focused_window()
    focus_lines = (f"mCurrentFocus=Window{{{_hash(focus)} u0 {focus}}}\n"
                   f"mFocusedApp={_record(package, activity, task.task_id)}\n")
    per_display = int(system.properties.get("ro.build.version.sdk", "33")) >= 29
    what = args[0] if args else ""
    if what in ("windows", "w", ""):
        _dump_windows(ctx, task)
        ctx.out.write(f"  mStatusBar=Window{{{_hash('StatusBar')} u0 StatusBar}}\n")
        if per_display:
            ctx.out.write("  mTopFocusedDisplayId=0\n")
        else:
            ctx.out.write("".join(f"  {line}\n" for line in focus_lines.splitlines()))
    if per_display and what in ("displays", "d", ""):
        ctx.out.write(f"WINDOW MANAGER DISPLAY CONTENTS (dumpsys window displays)\n"
                      f"  Display: mDisplayId=0 rootTasks={len(system.stack.tasks)}\n"
                      f"    init={system.width}x{system.height} {system.density}dpi cur={system.width}x{system.height}"
                      f" app={system.width}x{system.height}\n"
                      + "".join(f"    {line}\n" for line in focus_lines.splitlines()))
    return 0


def _dump_windows(ctx: ShellContext, task) -> None:
    shown = ctx.system.display()
    ctx.out.write("WINDOW MANAGER WINDOWS (dumpsys window windows)\n")
    for n, window in enumerate(reversed(shown.screen.windows)):
        title = window.title if window.package == "android" else (
            f"{window.package}/{window.activity}" if window.activity else window.title or window.package)
        ctx.out.write(f"  Window #{n} Window{{{_hash(title)} u0 {title}}}:\n"
                      f"    mDisplayId=0 rootTaskId={task.task_id} mSession=Session{{{_hash(window.package)} "
                      f"0:{_uid_of(ctx, window.package)}}} mClient=android.os.BinderProxy@{_hash(title + '#')}\n"
                      f"    mOwnerUid={_uid_of(ctx, window.package)} showForAllUsers=false "
                      f"package={window.package} appop=NONE\n"
                      f"    mAttrs={{(0,0)(fillxfill) ty={'APPLICATION' if window.dim_behind else 'BASE_APPLICATION'}"
                      f" fmt=TRANSLUCENT}}\n    isOnScreen=true\n    isVisible=true\n")


def dump_activities(ctx: ShellContext) -> None:
    system = ctx.system
    package, activity, top = system.resumed()
    ctx.out.write("ACTIVITY MANAGER ACTIVITIES (dumpsys activity activities)\n"
                  "Display #0 (activities from top to bottom):\n")
    for task in reversed(system.stack.tasks):
        uid = _uid_of(ctx, task.package)
        kind = "home" if task is system.stack.home else "standard"
        visible = "true" if task is top else "false"
        ctx.out.write(f"  * Task{{{task.record_hash} #{task.task_id} type={kind} A={uid}:{task.package} U=0 "
                      f"visible={visible} visibleRequested={visible} mode=fullscreen translucent=false sz=1}}\n"
                      f"    affinity={uid}:{task.package}\n")
        records = [(task.package, system._activity_of(task))]
        if task is top and (package, activity) != records[0]:
            records.insert(0, (package, activity))
        for k, (pkg, act) in enumerate(records):
            ctx.out.write(f"      * Hist  #{len(records) - 1 - k}: {_record(pkg, act, task.task_id)}\n"
                          f"        packageName={pkg} processName={pkg}\n")
    resumed = _record(package, activity, top.task_id)
    ctx.out.write(f"\n  ResumedActivity: {resumed}\n\n"
                  f"  mFocusedRootTask=Task{{{top.record_hash} #{top.task_id}}}\n"
                  f"  mResumedActivity: {resumed}\n"
                  f"  topResumedActivity={resumed}\n"
                  f"  mLastPausedActivity: null\n")


def dump_activity_top(ctx: ShellContext) -> None:
    system = ctx.system
    package, activity, task = system.resumed()
    short = short_component(package, activity)
    ctx.out.write(f"TASK {_uid_of(ctx, task.package)}:{task.package} id={task.task_id} userId=0\n"
                  f"  ACTIVITY {short} {_hash(f'{task.task_id}:{short}')} pid={_pid_of(ctx, package)}\n"
                  f"    Local Activity {_hash(short + 'L')} State:\n      mResumed=true mStopped=false mFinished=false\n")


def dump_package(ctx: ShellContext, package: str) -> int:
    system = ctx.system
    pkg = system.packages.find(package)
    if pkg is None:
        ctx.out.write(f"Unable to find package: {package}\n")
        return 0
    m = pkg.manifest
    when = datetime.fromtimestamp(pkg.install_time or system.clock.now(), DEVICE_TZ).strftime("%Y-%m-%d %H:%M:%S")
    flags = "[ SYSTEM HAS_CODE ALLOW_CLEAR_USER_DATA ]" if pkg.system else "[ HAS_CODE ALLOW_CLEAR_USER_DATA ALLOW_BACKUP ]"
    out = [
        "Activity Resolver Table:",
        "  Non-Data Actions:",
        "      android.intent.action.MAIN:",
        f"        {_hash(m.package)} {short_component(m.package, pkg.launcher_activity)} filter {_hash(m.label)}",
        "",
        "Packages:",
        f"  Package [{m.package}] ({_hash(m.package + 'P')}):",
        f"    userId={pkg.uid}",
        f"    pkg=Package{{{_hash(m.package + 'Q')} {m.package}}}",
        f"    codePath={pkg.apk_path().rsplit('/', 1)[0]}",
        f"    resourcePath={pkg.apk_path().rsplit('/', 1)[0]}",
        "    primaryCpuAbi=arm64-v8a",
        "    secondaryCpuAbi=null",
        f"    versionCode={m.version_code} minSdk=21 targetSdk={m.target_sdk}",
        f"    versionName={m.version_name}",
        "    splits=[base]",
        "    apkSigningVersion=2",
        f"    flags={flags}",
        f"    timeStamp={when}",
        f"    firstInstallTime={when}",
        f"    lastUpdateTime={when}",
        "    installerPackageName=null",
        (f"    signatures=PackageSignatures{{{_hash(m.package + 'S')} version:2, signatures:[{_hash(m.package + 'K')}],"
        " past signatures:[]}"),
        "    installPermissionsFixed=true",
        f"    pkgFlags={flags}",
    ]
    runtime = sorted(pkg.permissions.states.items())
    if not pkg.system:
        out.append("    requested permissions:")
        out += [f"      {p}" for p in ["android.permission.INTERNET", *m.permissions]]
        out += ["    install permissions:", "      android.permission.INTERNET: granted=true"]
    out.append("    User 0: ceDataInode=0 installed=true hidden=false suspended=false distractionFlags=0 "
               "stopped=false notLaunched=false enabled=0 instant=false virtual=false")
    if runtime:
        out.append("      runtime permissions:")
        out += [f"        {p}: granted={'true' if st.granted else 'false'}{flags_to_string(st.flags)}"
                for p, st in runtime if group_of(p)]
    ctx.out.write("\n".join(out) + "\n")
    return 0


def dump_display(ctx: ShellContext) -> None:
    w, h, d = ctx.system.width, ctx.system.height, ctx.system.density
    ctx.out.write(
        "DISPLAY MANAGER (dumpsys display)\n"
        f"  mViewports=[DisplayViewport{{type=INTERNAL, valid=true, isActive=true, displayId=0, uniqueId='local:0', "
        f"physicalPort=0, orientation=0, logicalFrame=Rect(0, 0 - {w}, {h}), physicalFrame=Rect(0, 0 - {w}, {h}), "
        f"deviceWidth={w}, deviceHeight={h}}}]\n"
        f"  mDefaultDisplayDeviceInfo: DisplayDeviceInfo{{\"Built-in Screen\": uniqueId=\"local:0\", {w} x {h}, "
        f"modeId 1, defaultModeId 1, density {d}, {d}.0 x {d}.0 dpi, touch INTERNAL, rotation 0, type INTERNAL, "
        "state ON}\n")


def dumpsys(ctx: ShellContext, args: list[str]) -> int:
    service, rest = (args[0], args[1:]) if args else ("", [])
    if service == "window":
        return dump_window(ctx, rest)
    if service == "activity":
        what = rest[0] if rest else "activities"
        if what in ("activities", "a"):
            dump_activities(ctx)
        elif what == "top":
            dump_activity_top(ctx)
        elif what in ("processes", "p"):
            for proc in ctx.system.processes.running():
                ctx.out.write(f"  *APP* UID {proc.uid} ProcessRecord{{{_hash(proc.package)} {proc.pid}:"
                              f"{proc.package}/u0a{proc.uid - 10000}}}\n")
        else:
            dump_activities(ctx)
        return 0
    if service == "package":
        names = [a for a in rest if not a.startswith("-")]
        if not names:
            for pkg in sorted(ctx.system.packages.all(), key=lambda p: p.package):
                ctx.out.write(f"  Package [{pkg.package}]\n")
            return 0
        return dump_package(ctx, names[-1])
    if service == "display":
        dump_display(ctx)
        return 0
    if service == "power":
        ctx.out.write("POWER MANAGER (dumpsys power)\n  mWakefulness=Awake\n  mHoldingDisplaySuspendBlocker=true\n"
                      "  Display Power: state=ON\n")
        return 0
    if service == "input_method":
        ctx.out.write("  mInputShown=false\n  mShowRequested=false\n")
        return 0
    if service in ("SurfaceFlinger", "battery", "meminfo", "cpuinfo"):
        return 0
    ctx.err.write(f"Can't find service: {service}\n")
    return 0


COMMANDS = {"dumpsys": CommandSpec(dumpsys)}
