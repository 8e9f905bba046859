"""Each publishing test writes its static sites into its own folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def site_output_dir(settings: Any, tmp_path: Path) -> Path:
    settings.SITE_OUTPUT_DIR = tmp_path / "sites"
    return Path(settings.SITE_OUTPUT_DIR)
