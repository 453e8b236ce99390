"""Importing a script of ``benchmarks/`` (not a package) so that a test can drive its functions."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def load_benchmark(filename: str, name: str) -> ModuleType:
    """``benchmarks/<filename>`` as the module ``name`` (registered in ``sys.modules``, so that its
    dataclasses and pickling resolve)."""
    path = Path(__file__).resolve().parents[2] / "benchmarks" / filename
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod
