"""Config: ``env.NAME`` secrets, and one clear line for every mistake."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from finops.config import ConfigError, load_settings, parse_settings
from tests.support.demo import FINOPS


def test_env_references_are_resolved_and_kept_secret() -> None:
    settings = parse_settings(
        {"providers": {"openai": {"api_key": "env.OPENAI_KEY", "base_url": "http://x/v1"}}},
        environ={"OPENAI_KEY": "sk-from-env"},
    )
    api_key = settings.providers["openai"].api_key
    assert api_key is not None and api_key.get_secret_value() == "sk-from-env"
    assert "sk-from-env" not in repr(settings)


def test_defaults_match_design() -> None:
    settings = parse_settings({})
    assert settings.server.port == 8080
    assert settings.database.url == "sqlite+aiosqlite:///finops.db"
    assert settings.governance.require_virtual_key is False


@dataclass(frozen=True)
class Case:
    id: str
    raw: Any
    message: str


BAD_CONFIGS = [
    Case(
        "missing env var",
        {"providers": {"openai": {"api_key": "env.NOPE"}}},
        "providers.openai.api_key: environment variable NOPE is not set",
    ),
    Case("unknown key", {"server": {"prot": 1}}, "server.prot: unknown key"),
    Case("unknown provider", {"providers": {"azure": {}}}, "providers.azure"),
    Case("bad port type", {"server": {"port": "eighty"}}, "server.port: Input should be a valid integer"),
    Case("port out of range", {"server": {"port": 70000}}, "server.port: Input should be less than or equal to 65535"),
    Case(
        "bad public url",
        {"server": {"public_url": "gateway.local"}},
        "server.public_url: Value error, must start with http",
    ),
    Case("not a mapping", ["a"], "(root): the config must be a mapping"),
]


@pytest.mark.parametrize("case", BAD_CONFIGS, ids=lambda case: case.id)
def test_bad_config_names_the_key(case: Case) -> None:
    with pytest.raises(ConfigError) as excinfo:
        parse_settings(case.raw, environ={})
    assert str(excinfo.value).startswith(case.message)
    assert "\n" not in str(excinfo.value)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("server:\n  port: 80\n  host: [unclosed\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: not valid YAML at line \d+"):
        load_settings(path)


def test_serve_with_bad_config_stops_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "finops.yaml"
    path.write_text("server:\n  port: eighty\n")
    result = subprocess.run([str(FINOPS), "serve", "--config", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("finops: config error: server.port:")
