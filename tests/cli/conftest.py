"""Fixtures for CLI tests: ``cli`` runs the real mudmap command against the lab."""

from __future__ import annotations

from pathlib import Path

import pytest

from mudmap_tui.lab import Lab
from tests.cli.lab_cli import LabCli


@pytest.fixture
def cli(lab: Lab, tmp_path: Path) -> LabCli:
    return LabCli(lab, tmp_path)
