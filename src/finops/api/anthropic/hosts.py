"""Which ``Host`` a request may carry when the gateway builds an absolute URL from it.

A ``results_url`` is fetched by the official SDKs with the caller's API key. Built from whatever Host a request
carried, it sent keys to any host an attacker (or a proxy rewriting Host) named. So without ``server.public_url``
only hosts the operator named (``server.allowed_hosts``, by default the bound address and loopback names) may
shape it; the rest are refused.
"""

from __future__ import annotations

from finops.config import ServerSettings

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")


def allowed_hosts(server: ServerSettings) -> tuple[str, ...]:
    if server.allowed_hosts is not None:
        return tuple(server.allowed_hosts)
    bound = f"[{server.host}]" if ":" in server.host else server.host
    return (bound, *LOOPBACK_NAMES)


def _split(host: str) -> tuple[str, str | None]:
    """``name[:port]`` (``[v6]:port`` too) as (lower-cased name, port or None)."""
    host = host.strip().lower()
    if host.startswith("["):
        name, _, rest = host.partition("]")
        return name + "]", rest.removeprefix(":") or None
    name, colon, port = host.rpartition(":")
    return (name, port) if colon else (host, None)


def host_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    """``host`` (a Host header) matches an entry: ``name`` allows any port, ``name:port`` only that port; ``*``
    allows any host (an operator's explicit choice, e.g. behind a proxy that already checks Host)."""
    name, port = _split(host)
    if not name or (port is not None and not port.isdigit()):
        return False
    for entry in allowed:
        if entry == "*":
            return True
        entry_name, entry_port = _split(entry)
        if entry_name == name and (entry_port is None or entry_port == port):
            return True
    return False
