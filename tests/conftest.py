"""Shared by every test directory: ``tests/support`` (the server-process helper) is importable as a top
level module, as the integration and behaviour suites expect."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).with_name("support")))
