"""The user-error root. An exception that derives from `UserError` means "the input is wrong" (no such device, a
bad APK, a tampered run, a bad option...): `naysayer` prints its message as one line, `naysayer: ...`, and exits 2,
never with a traceback (crawler.cli.main catches it, once). Anything else that escapes is a bug and shows its
traceback. Each error is defined beside the code that raises it and also keeps its built-in base (ValueError,
RuntimeError, FileExistsError...), so code that catches those goes on catching it.

    UserError
    ├── UsageError                  the command line is wrong (crawler.errors)
    ├── DeviceError                 no such device, unauthorized, an app not installed, adb failed (crawler.device)
    │   └── DeviceLost              the device went away during the work
    ├── BadApk                      not an APK, or one we cannot read (crawler.apk.errors)
    ├── BadHierarchy                a hierarchy dump that is not one (crawler.screen)
    ├── BadImage                    a screenshot that is not an image (crawler.perceive.vision)
    ├── OcrUnavailable              the OCR engine cannot be loaded (crawler.perceive.ocr)
    ├── InspectError                an input file of `inspect` (crawler.inspection)
    ├── UnknownStrategy             (strategies)
    ├── TaxonomyError               a bad finding taxonomy file (crawler.detectors.taxonomy)
    ├── SettingsError               a bad `--set KIND.NAME=VALUE` (crawler.detectors.taxonomy)
    ├── AnalyzeError                a run that cannot be analysed (crawler.analyze)
    ├── UnknownGraphFormat          (crawler.graph)
    ├── NotARun                     not a run directory (crawler.store)
    ├── NewerSchema                 a run written by a newer naysayer
    ├── BrokenChain                 a trace whose hash chain does not hold
    ├── DamagedRun                  a run database that cannot be read where asked (truncated, not UTF-8)
    ├── RunExists                   a run id already used
    ├── BadRunId                    a run id that is not a plain name
    ├── MissingBlob                 a blob the trace names is not in the run
    ├── BadBlob                     a blob whose bytes do not match its hash
    ├── NoFindings                  `reproduce` of a run without findings (crawler.reproduce)
    ├── UnknownFinding              a finding id that is not the run's
    ├── CannotPlan                  no way from a cold start to the finding in the trace
    ├── BadOutput                   an --out the new runs cannot go in
    ├── LabError                    a lab cannot start or continue (crawler.lab.errors)
    │   ├── NotALab                 a folder that holds no lab
    │   ├── FarmError               a bad broker, a lab that is not on a farm (crawler.lab.farm)
    │   └── LabExportError          `lab export`: an unknown format, an output it cannot write (crawler.lab.export)
    ├── ReportError                 a report cannot be written (reports.html.gather)
    ├── UnknownLanguage             (reports.html.strings)
    ├── ExportError                 a bundle cannot be written (reports.bundle)
    ├── BundleError                 a file that is not a bundle (reports.bundle_verify)
    ├── KeyFileError                a bad signing or public key file (reports.signing)
    ├── AvdError                    SDK emulators (emulator.avd)
    │   ├── SdkNotFound
    │   ├── UnknownAvd
    │   ├── SnapshotNotFound
    │   ├── NoFreePort
    │   ├── EmulatorFailed
    │   └── EmulatorNotRunning
    ├── ConsoleError                an emulator console (emulator.console)
    │   ├── ConsoleAuthError
    │   └── ConsoleCommandError
    ├── AdbServerError              the adb server cannot be started or reached (emulator.sim.adb_server)
    ├── FontsMissing                the simulator's CJK fonts are not installed (emulator.sim.fonts)
    ├── SkinError                   a bad permission-dialog skin (emulator.sim.skins)
    │   └── UnknownSkin
    └── ZooError                    a bad zoo app model (emulator.zoo.model)

tests/unit/test_errors.py checks that this drawing names every UserError subclass and nothing else.
"""

from __future__ import annotations

EXIT_USER_ERROR = 2


class UserError(Exception):
    """The input is wrong: printed as one line naming the input and what is wrong, exit 2, no traceback."""


class UsageError(UserError, ValueError):
    """The command line is wrong (an option that needs another, a count below one...)."""
