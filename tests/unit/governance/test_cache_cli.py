"""``finops keys`` sets, merges and clears a key's response-cache settings, as the admin API does."""

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


def test_key_cache_settings_on_the_command_line(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["keys", "create", "--config", config, "--name", "c", "--cache-mode", "exact", "--cache-ttl", "600"]) == 0
    )
    created = orjson.loads(capsys.readouterr().out)
    assert created["cache"] == {"mode": "exact", "ttl_seconds": 600}

    assert main(["keys", "update", created["id"], "--config", config, "--cache-threshold", "0.9"]) == 0
    assert orjson.loads(capsys.readouterr().out)["cache"] == {"mode": "exact", "ttl_seconds": 600, "threshold": 0.9}

    assert main(["keys", "update", created["id"], "--config", config, "--cache-threshold", "7"]) == 1
    assert "cache.threshold" in capsys.readouterr().err

    assert main(["keys", "update", created["id"], "--config", config, "--cache-mode", "none"]) == 0
    assert orjson.loads(capsys.readouterr().out)["cache"] is None

    assert main(["usage", "--config", config]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert "cache_hits" in header and "saved_usd" in header
