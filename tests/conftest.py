"""Shared fixtures: the real XLM tokenizer files and data sets in ../shared/data (override with XLM_TEST_DATA)."""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = Path(os.environ.get("XLM_TEST_DATA", REPO.parent / "shared" / "data"))

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real XLM tokenizer files, configs and data sets; skip the test where it is absent."""
    if not DATA_DIR.is_dir():
        pytest.skip(f"shared test data not found at {DATA_DIR} (set XLM_TEST_DATA to its path)")
    return DATA_DIR
