"""The web console under ``/ui``: server-rendered pages over the same services as the admin API."""

from __future__ import annotations

from .routes import console_app
from .services import Console

__all__ = ["Console", "console_app"]
