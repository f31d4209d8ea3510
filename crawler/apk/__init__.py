"""What the host reads from an APK file, with no aapt and no device: package name, label, signing certificates.

APK files are hostile input: every length is checked against the file and nothing is extracted to disk.
"""

from crawler.apk.errors import BadApk
from crawler.apk.facts import ApkFacts, read_apk_facts, sha256_file
from crawler.apk.manifest import apk_label, apk_package
from crawler.apk.signers import Signer, apk_signers

__all__ = ["ApkFacts", "BadApk", "Signer", "apk_label", "apk_package", "apk_signers", "read_apk_facts", "sha256_file"]
