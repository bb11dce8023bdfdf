"""Stateful fakes of the providers' real APIs.

Rule: nothing under ``finops.emulators`` imports ``finops.core``, ``finops.providers``, ``finops.api``,
``finops.store`` or ``finops.governance``. An emulator is a second, independent reading of the provider's
contract; sharing code with the gateway would let a misunderstanding cancel itself out.
"""
