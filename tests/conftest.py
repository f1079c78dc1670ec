"""Fixtures shared by the whole suite, above all the lab of real devices."""

from __future__ import annotations

import os
import string
from collections.abc import Iterator
from pathlib import Path

import pytest

from mudmap_tui.lab import Lab
from mudmap_tui.lab import paths as lab_paths
from mudmap_tui.lab.checks import missing_packages

TEST_LAB_SIZE = 3
OWNER_FILE = "pytest-owner.pid"


def process_lab_name(prefix: str, variable: str) -> str:
    """Name a lab ``prefix`` plus this pytest process's id in base 36, or ``$variable``.

    Concurrent pytest runs then never share a lab.
    """
    digits = string.digits + string.ascii_lowercase
    number = os.getpid() % 36**3
    suffix = ""
    for _ in range(3):
        number, remainder = divmod(number, 36)
        suffix = digits[remainder] + suffix
    return os.environ.get(variable) or prefix + suffix


def _unique_lab_name() -> str:
    return process_lab_name("t", "MUDMAP_TEST_LAB")


def _remove_stale_test_labs() -> None:
    """Take down test labs whose pytest process is gone (a crashed or killed run)."""
    if not lab_paths.RUN_ROOT.is_dir():
        return
    for run_dir in lab_paths.RUN_ROOT.iterdir():
        owner_file = run_dir / OWNER_FILE
        if not owner_file.exists():
            continue
        try:
            os.kill(int(owner_file.read_text()), 0)
        except (ProcessLookupError, ValueError):
            Lab(run_dir.name, TEST_LAB_SIZE).down()


def lab_unavailable_reason() -> str | None:
    if os.geteuid() != 0:
        return "the lab needs root"
    missing = missing_packages()
    if missing:
        return "the lab needs Debian packages: " + " ".join(missing)
    return None


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    """A running lab of TEST_LAB_SIZE devices plus lab-inner, taken down after the session.

    Under CI=true a lab that cannot start fails the run instead of skipping its tests.
    """
    reason = lab_unavailable_reason()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"lab tests must run in CI, but {reason}")
        pytest.skip(reason)
    _remove_stale_test_labs()
    test_lab = Lab(_unique_lab_name(), TEST_LAB_SIZE)
    test_lab.up()
    Path(lab_paths.run_dir(test_lab.name), OWNER_FILE).write_text(str(os.getpid()))
    try:
        yield test_lab
    finally:
        test_lab.down()
