"""Stateful emulator of the OpenAI API (chat completions, models, files, batches) for tests and demos.

Entry point: :func:`finops.emulators.openai.app.create_app`.
"""

from finops.emulators.openai.app import create_app

__all__ = ["create_app"]
