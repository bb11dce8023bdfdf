"""Helpers shared by the emulators only (never by the gateway)."""
