"""The one error of APK reading."""

from crawler.errors import UserError


class BadApk(UserError, ValueError):
    """The file is not an APK we can read (one line naming the file and what is wrong)."""
