"""Gateway IDs: prefixed, URL-safe, unguessable, uniformly distributed."""

from __future__ import annotations

import re
import string
from collections import Counter

import pytest

from finops.core import ids


@pytest.mark.parametrize(
    ("make", "prefix"),
    [
        (ids.new_file_id, "file_"),
        (ids.new_batch_id, "msgbatch_"),
        (ids.new_request_id, "req_"),
        (ids.new_message_id, "msg_"),
    ],
)
def test_ids_are_prefixed_base62(make, prefix: str) -> None:  # type: ignore[no-untyped-def]
    values = {make() for _ in range(2000)}
    assert len(values) == 2000
    assert all(re.fullmatch(rf"{prefix}[A-Za-z0-9]{{24}}", value) for value in values)


def test_characters_are_uniform() -> None:
    counts = Counter("".join(ids.new_request_id()[4:] for _ in range(20_000)))
    assert set(counts) == set(string.ascii_letters + string.digits)
    expected = 20_000 * 24 / 62
    # A biased mapping (plain byte % 62) would give the first 8 characters ~25 % more than the rest.
    assert max(abs(count - expected) / expected for count in counts.values()) < 0.06


def test_a_forked_child_never_repeats_the_parents_ids() -> None:
    import os

    ids.new_request_id()  # the parent has random characters buffered
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next id and leave at once
        os.write(write_end, ids.new_request_id().encode())
        os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    child_id = os.read(read_end, 100).decode()
    os.close(read_end)
    assert child_id.startswith("req_") and child_id != ids.new_request_id()
