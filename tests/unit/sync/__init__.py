"""HA-free tests of the sync engine (in-process emulator, dict sink)."""
