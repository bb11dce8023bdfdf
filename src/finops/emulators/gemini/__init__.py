"""Stateful fake of Google's Generative Language (Gemini) API, accepted by the official google-genai SDK.

Entry point: :func:`finops.emulators.gemini.app.create_app`.
"""
