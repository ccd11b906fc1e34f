"""Fixtures: an in-process Roost SMTP server (tests.smtp.harness) with two accounts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.smtp.harness import Harness, RemoteMx


@pytest.fixture
def roost(tmp_path: Path) -> Iterator[Harness]:
    harness = Harness(tmp_path / "data")
    harness.add_user("alice@example.org")
    harness.add_user("bob@example.org")
    yield harness
    harness.close()


@pytest.fixture
def remote() -> Iterator[RemoteMx]:
    mx = RemoteMx()
    yield mx
    mx.stop()
