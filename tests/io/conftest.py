"""Fixtures for the loader tests: a fixed de-identification key, never the user's key file."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _io_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MIBGKIT_KEY", "mibgkit-test-key")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    # Some real vendor files carry over-long SH/UI values; pydicom warns, the loader tolerates them.
    warnings.filterwarnings("ignore", message=".*(exceeds the maximum length|Invalid value for VR).*")
