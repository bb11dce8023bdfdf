"""Where the provider specs live: ``shared/`` beside the repository (as in CI), or FINOPS_SHARED_DIR."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED_DIR = Path(os.environ.get("FINOPS_SHARED_DIR", REPO.parent / "shared"))
SPECS_DIR = SHARED_DIR / "specs"
