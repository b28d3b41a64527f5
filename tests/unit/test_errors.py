"""One error root: every exception the library raises for the user derives from DedError, and every config
error from ConfigError, so `python -m ded` reports each as one line and a caller can catch them by kind."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

from ded.config import ConfigError
from ded.errors import DedError

ROOT = Path(__file__).resolve().parents[2]

#: Raised and caught inside one module, never reaching a user: the sandbox's own infrastructure failure
#: (it becomes an undecided verdict) and the math checker's CPU-time signal (a BaseException on purpose).
INTERNAL = {"ded.filter.sandbox.InfraError", "ded.filter.mathcheck.CpuTimeLimit"}


def exception_classes() -> dict[str, type]:
    """Every class of the ded package whose name ends in Error, Exception or a known failure word."""
    found = {}
    for path in sorted((ROOT / "ded").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = [n.name for n in tree.body if isinstance(n, ast.ClassDef) and n.bases]
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for name in names:
            cls = getattr(importlib.import_module(module), name)
            if isinstance(cls, type) and issubclass(cls, BaseException):
                found[f"{module}.{name}"] = cls
    return found


def test_every_library_error_derives_from_ded_error():
    classes = exception_classes()
    assert len(classes) >= 20
    stray = sorted(n for n, cls in classes.items() if not issubclass(cls, DedError) and n not in INTERNAL)
    assert not stray, f"exceptions outside DedError: {stray}"


def test_config_errors_share_one_class():
    classes = exception_classes()
    config_like = [n for n in classes if "Config" in n.rsplit(".", 1)[1] or n.endswith(("TeacherSpecError",
                                                                                         "PlanError",
                                                                                         "PaperValuesError"))]
    assert len(config_like) >= 5
    assert all(issubclass(classes[n], ConfigError) for n in config_like), config_like
