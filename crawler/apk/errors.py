"""The one error of APK reading."""


class BadApk(ValueError):
    """The file is not an APK we can read (one line naming the file and what is wrong)."""
