"""The installed version of smokewatch."""

from importlib.metadata import PackageNotFoundError, version


def smokewatch_version() -> str:
    try:
        return version("smokewatch")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0+unknown"
