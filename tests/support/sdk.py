"""Run a script under a chosen official Anthropic SDK: the newest (installed in .venv) or 0.60.0 (the seed's
era, installed by scripts/test into .sdk/anthropic-0.60.0 and put first on PYTHONPATH)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SDK_060_PATH = Path(os.environ.get("FINOPS_ANTHROPIC_060_PATH", REPO / ".sdk" / "anthropic-0.60.0"))
SDK_VERSIONS = ("newest", "0.60.0")


def sdk_env(sdk: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANTHROPIC_")}
    if sdk == "0.60.0":
        if not (SDK_060_PATH / "anthropic" / "__init__.py").exists():
            raise AssertionError(
                f"anthropic 0.60.0 is not installed at {SDK_060_PATH}; run ./scripts/test (it installs it with "
                "pip install --no-deps --target .sdk/anthropic-0.60.0 anthropic==0.60.0)"
            )
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SDK_060_PATH), env.get("PYTHONPATH")]))
    return env


def run_script(sdk: str, code: str, *, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter with ``sdk``; the script first proves which SDK it got."""
    expected = "0.60.0" if sdk == "0.60.0" else None
    guard = textwrap.dedent(
        f"""
        import anthropic as _sdk_check
        if {expected!r} is not None:
            assert _sdk_check.__version__ == {expected!r}, _sdk_check.__version__
        """
    )
    return subprocess.run(
        [sys.executable, "-c", guard + "\n" + code],
        env=sdk_env(sdk),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
