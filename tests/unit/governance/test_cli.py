"""``finops keys ...`` and ``finops usage`` over the same store the gateway uses."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from finops.cli import main


@pytest.fixture
def config(tmp_path: Path) -> str:
    path = tmp_path / "finops.yaml"
    path.write_text(f"database: {{url: 'sqlite+aiosqlite:///{tmp_path / 'cli.db'}'}}\n", encoding="utf-8")
    return str(path)


def test_keys_lifecycle_and_usage_report(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "create", "--config", config, "--name", "cli-team", "--budget-usd", "5", "--rpm", "10"]) == 0
    created = orjson.loads(capsys.readouterr().out)
    assert created["key"].startswith("sk-fo-") and created["budget_period"] == "monthly"
    key_id = created["id"]

    assert main(["keys", "list", "--config", config]) == 0
    listing = capsys.readouterr().out
    assert key_id in listing and "cli-team" in listing and created["key"] not in listing

    assert main(["keys", "update", key_id, "--config", config, "--rpm", "none", "--providers", "anthropic"]) == 0
    updated = orjson.loads(capsys.readouterr().out)
    assert updated["rpm"] is None and updated["providers"] == ["anthropic"]

    assert main(["keys", "revoke", key_id, "--config", config]) == 0
    assert "revoked" in capsys.readouterr().out
    assert main(["keys", "show", key_id, "--config", config]) == 0
    assert orjson.loads(capsys.readouterr().out)["revoked_at"]

    assert main(["keys", "show", "vk_nope", "--config", config]) == 1
    assert "not found" in capsys.readouterr().err

    assert main(["usage", "--config", config, "--group-by", "model"]) == 0
    assert "TOTAL" in capsys.readouterr().out
