"""dsnlink: Net-entreprises credentials, automatic DSN deposit, returns and PAS rates."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dsnlink")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+src"

__all__ = ["__version__"]
