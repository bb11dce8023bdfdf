"""The provider list lives in ``finops.core.providers``; every per-provider table must cover exactly that list,
so adding a provider fails here until each table has its entry."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from finops import demo
from finops.config import ConfigError, parse_settings
from finops.core.providers import PROVIDER_NAMES
from finops.core.routing import provider_from_header
from finops.governance import pricing
from finops.providers import registry

TABLES: dict[str, Mapping[str, Any]] = {
    "providers.registry.ADAPTERS": registry.ADAPTERS,
    "demo.EMULATORS": demo.EMULATORS,
    "governance.pricing.PROVIDER_IDS": pricing.PROVIDER_IDS,
    "governance.pricing.BATCH_DISCOUNT": pricing.BATCH_DISCOUNT,
}


@pytest.mark.parametrize("table", TABLES.values(), ids=TABLES.keys())
def test_every_per_provider_table_covers_the_list(table: Mapping[str, Any]) -> None:
    assert sorted(table) == sorted(PROVIDER_NAMES)


@pytest.mark.parametrize("name", PROVIDER_NAMES)
def test_every_listed_provider_is_accepted_by_the_header_and_the_config(name: str) -> None:
    assert provider_from_header(name) == name
    assert list(parse_settings({"providers": {name: {}}}, environ={}).providers) == [name]


def test_a_provider_not_in_the_list_is_refused_by_the_config() -> None:
    with pytest.raises(ConfigError, match=r"providers\.azure"):
        parse_settings({"providers": {"azure": {}}}, environ={})
