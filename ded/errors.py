"""The workflow's common error root, and how a command line reports a failure.

Every stage raises its own class (RecordError, ConfigError, ...); deriving
them all from `DedError` lets `python -m ded` tell an expected failure, which
it reports as one line naming the file, line and field, from a bug, which
keeps its traceback.
"""

from __future__ import annotations

import argparse
import json

#: exit status of a failure `describe` names (argparse uses the same for a bad option)
EXIT_ERROR = 2
#: exit status after Ctrl-C, as a shell reports a process ended by SIGINT
EXIT_INTERRUPTED = 130


class DedError(Exception):
    """Every expected failure the workflow names for the user derives from it."""


def one_line(text: str) -> str:
    """`text` on one line: a wrapped or multi-line message would break the one-line contract."""
    return "; ".join(part.strip() for part in str(text).splitlines() if part.strip())


#: OS errors about a path the user gave, and how to say so
PATH_ERRORS = {FileNotFoundError: "file not found", IsADirectoryError: "is a directory, expected a file",
               NotADirectoryError: "a parent of it is not a directory", PermissionError: "permission denied"}


def _os_message(exc: OSError) -> str:
    reason = next((text for cls, text in PATH_ERRORS.items() if isinstance(exc, cls)), exc.strerror or str(exc))
    return f"{exc.filename}: {reason}" if exc.filename is not None else reason


def _yaml_error() -> type | None:
    try:
        import yaml
    except ImportError:  # pragma: no cover - yaml is a dependency of every environment
        return None
    return yaml.YAMLError


def describe(exc: BaseException) -> str | None:
    """The one-line message for an expected failure; None for anything else (a bug: keep the traceback)."""
    if isinstance(exc, DedError):
        return one_line(str(exc))
    if isinstance(exc, OSError) and (exc.filename is not None or isinstance(exc, tuple(PATH_ERRORS))):
        return one_line(_os_message(exc))
    if isinstance(exc, UnicodeDecodeError):
        return f"not valid UTF-8 (byte 0x{exc.object[exc.start]:02x} at position {exc.start})"
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
    yaml_error = _yaml_error()
    if yaml_error is not None and isinstance(exc, yaml_error):
        return f"not valid YAML ({one_line(str(exc))})"
    return None


def at_least(minimum: int):
    """An argparse `type`: an int no smaller than `minimum`, so a bad count fails as a usage error
    naming the option rather than deep inside the stage."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    parse.__name__ = f"int >= {minimum}"
    return parse
