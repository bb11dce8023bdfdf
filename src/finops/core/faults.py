"""Named fault points for crash tests: ``FINOPS_FAULT_POINT=<name>`` makes the process die (``kill -9`` of itself)
or stop dead when it reaches that point, so a test hits a narrow window (after the upstream create, before the
row that records it) every time instead of by luck.

``FINOPS_FAULT_ACTION`` is ``kill`` (default: SIGKILL, nothing runs after it, as with ``kill -9``) or ``block``
(the whole process freezes in a ``time.sleep``, event loop included, until the test kills it). Without the
variable a fault point is one dictionary lookup: the environment is read once, at import.
"""

from __future__ import annotations

import os
import signal
import sys
import time

AFTER_INTENT = "create.after_intent"
"""The intent (and a batch's reservation) is committed; nothing was sent upstream yet."""
AFTER_UPSTREAM_CREATE = "create.after_upstream"
"""The upstream object exists; the gateway's row does not."""
AFTER_UPSTREAM_PART = "batch.after_upstream_part"
"""One part of a multi-part upstream batch exists, the next one does not."""
BEFORE_ANSWER = "ledger.before_answer"
"""A request's usage row is durable; its answer has not been sent."""

_POINT = os.environ.get("FINOPS_FAULT_POINT", "")
_ACTION = os.environ.get("FINOPS_FAULT_ACTION", "kill")


def fault_point(name: str) -> None:
    if name != _POINT:
        return
    sys.stderr.write(f"finops: fault point {name} reached ({_ACTION})\n")
    sys.stderr.flush()
    if _ACTION == "block":
        while True:
            time.sleep(3600)
    os.kill(os.getpid(), signal.SIGKILL)
