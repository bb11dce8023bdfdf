"""The ``{model}`` segment of Gemini's ``models/{model}:method`` URLs."""

from __future__ import annotations

from urllib.parse import quote


def model_path(model: str) -> str:
    """``model`` quoted whole: a model name must not be able to walk the URL to another resource, and a name the
    caller made up (control characters, spaces, ``/``) still makes a valid URL, which the upstream then refuses as
    an unknown model instead of the gateway failing to build the request."""
    return quote(model, safe="-._")
