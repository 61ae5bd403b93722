"""Shared fixtures: the seed site is built once per test session."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from lod.publishing.build import BuildResult, build

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SEED_DATA = REPO / "data"
TEST_BASE = "http://localhost:8000/"


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """How many workers ``-n auto`` (pyproject.toml) starts: none for a run of one test file.

    Workers take whole files (``--dist loadfile``), so one file keeps one busy anyway, and
    starting them costs a few seconds. Otherwise pytest-xdist decides (a worker a core, or
    PYTEST_XDIST_AUTO_NUM_WORKERS).
    """
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    files = {Path(arg.split("::")[0]).resolve() for arg in config.args}
    if len(files) == 1 and next(iter(files)).is_file():
        return 0
    return None


@pytest.fixture(scope="session")
def seed_site(tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    """The seed data built into a temporary site, with the default base URL."""
    out = tmp_path_factory.mktemp("seed") / "site"
    return build(SEED_DATA, out, TEST_BASE)


@pytest.fixture(scope="session")
def shared() -> Path:
    """../shared beside the repository; tests that need it skip cleanly without it."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not present")
    return SHARED


def write_records(folder: Path, files: dict[str, str]) -> Path:
    """Write a small data folder of YAML files for a test."""
    if folder.exists():
        shutil.rmtree(folder)
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder
