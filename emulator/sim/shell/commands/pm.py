"""Package manager commands: pm list/path/install/uninstall/clear/grant/revoke/(set|clear)-permission-flags, appops."""

from __future__ import annotations

import zipfile
from io import BytesIO

from emulator.sim.apk_files import remove_apk, store_apk
from emulator.sim.shell.interpreter import CommandSpec, DevicePathError, ShellContext
from emulator.sim.system.packages import PackageError
from emulator.sim.system.permissions import CLI_FLAG_NAMES, group_of

APP_MANIFEST = "naysayer-app.yaml"


REAL_MANIFEST = "AndroidManifest.xml"
MAX_MANIFEST = 4 << 20


def _native_apk(archive: zipfile.ZipFile, name: str):
    """A real APK: its package comes from the binary manifest; its code cannot run here (a stub app)."""
    from crawler.apk.errors import BadApk
    from crawler.apk.manifest import axml_package
    from emulator.zoo.loader import native_stub_app

    info = archive.getinfo(REAL_MANIFEST)
    if info.file_size > MAX_MANIFEST:
        raise ApkError(f"INSTALL_PARSE_FAILED_MANIFEST_MALFORMED: Failed to parse {name}: manifest too large")
    try:
        package = axml_package(archive.read(info), name)
        return native_stub_app(package)
    except (BadApk, ValueError, zipfile.BadZipFile) as exc:
        raise ApkError(f"INSTALL_PARSE_FAILED_MANIFEST_MALFORMED: Failed to parse {name}: "
                       f"{' '.join(str(exc).split())[:200]}") from exc


class ApkError(ValueError):
    """The file given to `pm install` is not a simulated APK."""


def _exception(ctx: ShellContext, verb: str, message: str) -> int:
    ctx.err.write(f"Exception occurred while executing '{verb}':\n{message}\n")
    return 255


def _list(ctx: ShellContext, args: list[str]) -> int:
    if not args or args[0] != "packages":
        ctx.err.write("Error: unknown list type\n" if args else "Error: didn't specify type of data to list\n")
        return 1
    opts = {a for a in args[1:] if a.startswith("-")}
    words = [a for a in args[1:] if not a.startswith("-")]
    needle = words[-1] if words and words[-1] != "0" else ""
    pkgs = ctx.system.packages.all(third_party_only="-3" in opts, system_only="-s" in opts)
    for pkg in sorted(pkgs, key=lambda p: p.package):
        if needle and needle not in pkg.package:
            continue
        path = f"{pkg.apk_path()}=" if "-f" in opts else ""
        uid = f" uid:{pkg.uid}" if "-U" in opts else ""
        ctx.out.write(f"package:{path}{pkg.package}{uid}\n")
    return 0


def load_apk(data: bytes, name: str):
    """A sim APK is a zip holding naysayer-app.yaml; the zoo turns it into an AppPackage."""
    if not zipfile.is_zipfile(BytesIO(data)):
        raise ApkError(f"INSTALL_PARSE_FAILED_NOT_APK: Failed to parse {name}: not a zip archive")
    with zipfile.ZipFile(BytesIO(data)) as archive:
        names = archive.namelist()
        if APP_MANIFEST not in names:
            if REAL_MANIFEST in names:
                return _native_apk(archive, name)
            raise ApkError(f"INSTALL_PARSE_FAILED_BAD_MANIFEST: Failed to parse {name}: no AndroidManifest.xml")
    from emulator.zoo import load_app_bytes  # the zoo helper's loader, imported when first needed

    try:
        return load_app_bytes(data, name)
    except Exception as exc:  # any defect of a user-supplied app model is a parse failure, not a crash
        raise ApkError(f"INSTALL_PARSE_FAILED_MANIFEST_MALFORMED: Failed to parse {name}: "
                       f"{' '.join(str(exc).split())[:200]}") from exc


def _install(ctx: ShellContext, args: list[str]) -> int:
    files = [a for a in args if not a.startswith("-") and not a.isdigit()]
    if not files:
        ctx.err.write("Error: must either specify a package size or an APK file\n")
        return 1
    name = files[-1]
    try:
        data = ctx.resolve(name).read_bytes()
    except (OSError, DevicePathError):
        ctx.err.write(f"Error: Can't open file: {name}\n")
        ctx.out.write("Failure [INSTALL_FAILED_INVALID_APK: Can't open file]\n")
        return 1
    try:
        app = load_apk(data, name)
    except ApkError as exc:
        ctx.out.write(f"Failure [{exc}]\n")
        return 1
    pkg = ctx.system.install(app)
    store_apk(ctx.device.storage_root(), pkg, data)  # `pm path` then names a file `adb pull` can read
    if "-g" in args:
        for perm in list(pkg.permissions.states):
            pkg.permissions.grant(perm)
    ctx.out.write("Success\n")
    return 0


def _flags(names: list[str]) -> int | None:
    bits = 0
    for name in names:
        bit = CLI_FLAG_NAMES.get(name.lower())
        if bit is None:
            return None
        bits |= bit
    return bits


def pm(ctx: ShellContext, args: list[str]) -> int:
    system = ctx.system
    args = [a for k, a in enumerate(args) if not (a == "--user" or (k and args[k - 1] == "--user"))]
    sub, rest = (args[0], args[1:]) if args else ("", [])
    try:
        if sub == "list":
            return _list(ctx, rest)
        if sub == "path":
            pkg = system.packages.find(rest[-1]) if rest else None
            if pkg is None:
                return 1
            ctx.out.write(f"package:{pkg.apk_path()}\n")
            return 0
        if sub == "install":
            return _install(ctx, rest)
        if sub == "uninstall":
            names = [a for a in rest if not a.startswith("-")]
            pkg = system.packages.find(names[-1]) if names else None
            if pkg is None or pkg.system:
                ctx.out.write("Failure [DELETE_FAILED_INTERNAL_ERROR]\n")
                return 1
            system.uninstall(pkg.package)
            remove_apk(ctx.device.storage_root(), pkg)
            ctx.out.write("Success\n")
            return 0
        if sub == "clear":
            names = [a for a in rest if not a.startswith("-")]
            if not names or system.packages.find(names[-1]) is None:
                ctx.err.write("Failed\n")
                return 1
            system.clear_data(names[-1])
            ctx.out.write("Success\n")
            return 0
        if sub in ("grant", "revoke"):
            if len(rest) < 2:
                ctx.err.write("Error: no package or permission specified\n")
                return 1
            pkg = system.packages.get(rest[0])
            perm = rest[1]
            if group_of(perm) is None:
                return _exception(ctx, sub, f"java.lang.SecurityException: Permission {perm} requested by "
                                            f"{pkg.package} is not a changeable permission type")
            if perm not in pkg.permissions.states:
                return _exception(ctx, sub, f"java.lang.SecurityException: Package {pkg.package} has not "
                                            f"requested permission {perm}")
            if sub == "grant":
                pkg.permissions.grant(perm)
            else:
                pkg.permissions.revoke(perm)
                if system.processes.get(pkg.package):  # revoking a runtime permission kills the app
                    system.force_stop(pkg.package, reason="permissions revoked")
            return 0
        if sub in ("set-permission-flags", "clear-permission-flags"):
            if len(rest) < 3:
                ctx.err.write("Error: no package, permission or flags specified\n")
                return 1
            pkg = system.packages.get(rest[0])
            bits = _flags(rest[2:])
            if bits is None:
                ctx.err.write(f"Error: unknown flag in {' '.join(rest[2:])}\n")
                return 1
            state = pkg.permissions.state(rest[1])
            state.flags = state.flags | bits if sub == "set-permission-flags" else state.flags & ~bits
            return 0
        if sub == "reset-permissions":
            for pkg in system.packages.apps():
                pkg.permissions.reset()
            return 0
        if sub == "dump" and rest:
            from emulator.sim.shell.commands.dumpsys import dump_package

            return dump_package(ctx, rest[0])
    except PackageError as exc:
        return _exception(ctx, sub, f"java.lang.IllegalArgumentException: {exc}")
    except ValueError as exc:
        return _exception(ctx, sub, f"java.lang.IllegalArgumentException: Unknown permission: {exc}")
    ctx.err.write(f"Unknown command: {sub}\n" if sub else "usage: pm [list|path|install|uninstall|clear|grant]\n")
    return 1 if sub else 0


def _op_name(permission: str) -> str:
    return permission.rsplit(".", 1)[-1].removeprefix("ACCESS_")


def appops(ctx: ShellContext, args: list[str]) -> int:
    if len(args) < 2 or args[0] != "get":
        ctx.err.write("usage: appops get <PACKAGE> [OP]\n")
        return 1
    pkg = ctx.system.packages.find(args[1])
    if pkg is None:
        ctx.err.write(f"Error: No UID for {args[1]} in user 0\n")
        return 255
    ops = [(p, st) for p, st in sorted(pkg.permissions.states.items())
           if len(args) < 3 or _op_name(p) == args[2]]
    if not ops:
        ctx.out.write("No operations.\n")
    for perm, st in ops:
        ctx.out.write(f"{_op_name(perm)}: {'allow' if st.granted else 'ignore'}\n")
    return 0


COMMANDS = {
    "pm": CommandSpec(pm),
    "appops": CommandSpec(appops),
}
