"""What the serving process needs beyond uvicorn's options: room for thousands of open sockets.

Each open stream holds two sockets (the caller's and the upstream's), and a common soft limit on open files is
1,024: the gateway would start refusing connections near 500 streams, far below its upstream ``max_connections``.
Lifting the soft limit to the hard one is what Go's runtime has done for every program since Go 1.19.
"""

from __future__ import annotations

import contextlib
import logging
import sys

if sys.platform != "win32":
    import resource

logger = logging.getLogger(__name__)

_CEILING = 1_048_576
"""Used when the hard limit is "unlimited": the kernel still caps a process (Linux's default ``nr_open``)."""
_WARN_BELOW = 4_096
"""Below this many open files (about 2,000 streams) the operator hears about the limit at start-up."""


def raise_open_file_limit() -> int | None:
    """Lift this process's soft limit on open files to its hard limit; returns the limit now in force (``None``:
    the platform has no such limit, or it is unlimited)."""
    if sys.platform == "win32":
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return None
    wanted = _CEILING if hard == resource.RLIM_INFINITY else hard
    if soft < wanted:
        with contextlib.suppress(ValueError, OSError):  # macOS refuses more than its OPEN_MAX: keep what we have
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft < _WARN_BELOW:
        logger.warning("open-file limit %d: room for about %d open streams (raise it: ulimit -n)", soft, soft // 2)
    return soft
