"""The serving process lifts its open-file limit so that thousands of streams fit (``finops.serving``)."""

from __future__ import annotations

import logging
import sys

import pytest

from finops.serving import raise_open_file_limit

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="no RLIMIT_NOFILE on Windows")


def test_the_soft_limit_on_open_files_rises_to_the_hard_limit(caplog: pytest.LogCaptureFixture) -> None:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1024:
        pytest.skip(f"hard limit {hard} leaves nothing to raise")
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (512, hard))  # as low as a careful distribution might set it
        with caplog.at_level(logging.WARNING, logger="finops.serving"):
            limit = raise_open_file_limit()
        now = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        assert limit == now and now > 512
        assert now == hard or hard == resource.RLIM_INFINITY
        assert ("open-file limit" in caplog.text) == (now < 4096)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
