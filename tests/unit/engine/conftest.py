from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import spruce


@pytest.fixture
def client(tmp_path: Path) -> Iterator[spruce.Client]:
    c = spruce.Client(path=tmp_path / "data", flush_rows=5)
    yield c
    c.close()
