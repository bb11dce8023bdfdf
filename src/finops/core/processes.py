"""Which process is which: a name for this process (machine, pid, a random suffix) that others record beside what
it holds (the background lease, an intent, a Bedrock on-demand run's heartbeat), and whether a process so named is
gone. A process of this machine that no longer exists is gone at once; one elsewhere only when what it holds expires.

Names are ``<host>/<pid namespace>:<pid>:<random>``: processes that agree on host and pid namespace see each
other's pids. (A reused pid only means waiting for the expiry.)
"""

from __future__ import annotations

import os
import secrets
import socket


def _this_machine() -> str:
    """Host name and PID namespace: processes that agree on it see each other's pids."""
    try:
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        namespace = 0
    return f"{socket.gethostname()[:64]}/{namespace}"


def process_owner() -> str:
    """Names this process where it holds something: machine and pid to judge it by, a random suffix for uniqueness."""
    return f"{_this_machine()}:{os.getpid()}:{secrets.token_hex(4)}"


def gone_from_this_machine(owner: str) -> bool:
    """True when ``owner`` names a process of this machine that no longer exists."""
    machine, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if machine != _this_machine() or not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False  # exists (e.g. another user's process): not ours to judge
    return False
