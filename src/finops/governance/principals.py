"""Turning a presented API key into a Principal.

Open mode (the seed's "virtual key or dummy key"): any key works and objects belong to a hash of it, so two
callers with different dummy keys still cannot see each other's files and batches.
"""

from __future__ import annotations

from finops.core.errors import AuthenticationError
from finops.core.types import Principal
from finops.governance.keys import hash_key


class OpenModeAuthenticator:
    async def authenticate(self, api_key: str | None) -> Principal:
        if not api_key:
            raise AuthenticationError("x-api-key header is required")
        return Principal(owner=f"anon:{hash_key(api_key)[:40]}")
