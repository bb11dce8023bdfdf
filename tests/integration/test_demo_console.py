"""The newcomer's path without a browser: ``finops serve --demo`` says where the console is, ``finops demo traffic``
fills the demo's ledger, and ``finops usage|keys --demo`` read that ledger (not ``finops.db``)."""

from __future__ import annotations

import csv
import io
import subprocess
from pathlib import Path

import httpx

from finops.demo import DEMO_ADMIN_KEY
from finops.demo_traffic import DEMO_KEYS
from tests.support.demo import FINOPS, finops_process


def _finops(workdir: Path, *args: str) -> str:
    done = subprocess.run([str(FINOPS), *args], cwd=workdir, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_demo_traffic_then_usage_and_keys_find_the_demo_database(tmp_path: Path) -> None:
    with finops_process(["--demo"], tmp_path) as base:
        log = next(tmp_path.glob("finops-*.log")).read_text()
        assert f"Console on {base}/ui (sign in with the admin key: {DEMO_ADMIN_KEY})" in log
        assert httpx.get(f"{base}/ui/login").status_code == 200

        report = _finops(tmp_path, "demo", "traffic", "--url", base, "--messages", "40")
        assert "Demo traffic done: answered:" in report and "batches: 3" in report
        assert all(provider in report for provider in ("anthropic", "openai", "gemini", "bedrock"))
        again = _finops(tmp_path, "demo", "traffic", "--url", base, "--messages", "8")
        assert "batches: 3" in again  # a second run reuses the saved keys

        usage = _finops(tmp_path, "usage", "--demo")
        for fields in DEMO_KEYS:
            assert fields["name"] in usage, fields["name"]
        keys = _finops(tmp_path, "keys", "list", "--demo")
        assert sorted(line.split()[1] for line in keys.splitlines()[1:]) == sorted(k["name"] for k in DEMO_KEYS)

        focus = list(csv.DictReader(io.StringIO(_finops(tmp_path, "usage", "--demo", "--format", "focus"))))
        assert {row["ProviderName"] for row in focus} == {"Anthropic", "OpenAI", "Google", "Amazon Web Services"}
        assert {row["x_Processing"] for row in focus} == {"standard", "batch"}

        # Without --demo the commands read the default database, which the demo never touched.
        assert "search-team" not in _finops(tmp_path, "usage")
    assert (tmp_path / "finops-demo.db").exists() and (tmp_path / "finops-demo-keys.json").exists()
