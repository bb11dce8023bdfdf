"""Full garbage collections postponed while large batch creates run: young collections go on, and the thresholds
come back when the last create ends, however it ends."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from finops.api.anthropic.full_collections import full_collections_postponed


@pytest.fixture(autouse=True)
def thresholds() -> Iterator[tuple[int, int, int]]:
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield gc.get_threshold()
    gc.set_threshold(*saved)


def test_the_oldest_threshold_is_out_of_reach_inside_only(thresholds: tuple[int, int, int]) -> None:
    with full_collections_postponed():
        young, middle, oldest = gc.get_threshold()
        assert (young, middle) == thresholds[:2]
        assert oldest > 1_000_000
    assert gc.get_threshold() == thresholds


def test_nested_and_concurrent_holders_restore_once_the_last_ends(thresholds: tuple[int, int, int]) -> None:
    inside, release = threading.Event(), threading.Event()

    def other_create() -> None:
        with full_collections_postponed():
            inside.set()
            release.wait(5)

    thread = threading.Thread(target=other_create)
    with full_collections_postponed():
        thread.start()
        inside.wait(5)
        with full_collections_postponed():
            pass
        assert gc.get_threshold() != thresholds
    assert gc.get_threshold() != thresholds  # the other create still runs
    release.set()
    thread.join()
    assert gc.get_threshold() == thresholds


def test_thresholds_come_back_after_an_error(thresholds: tuple[int, int, int]) -> None:
    with pytest.raises(ValueError), full_collections_postponed():
        raise ValueError("the create failed")
    assert gc.get_threshold() == thresholds
