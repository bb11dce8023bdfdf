"""Stateful fake of the Anthropic API (Messages, Models, Files, Message Batches).

Run it with ``finops emulate anthropic --port P``; build it with
:func:`finops.emulators.anthropic.app.create_app`.
It never imports gateway code, so a misunderstanding of the real API cannot cancel itself out.
"""
