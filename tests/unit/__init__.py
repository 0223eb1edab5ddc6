"""HA-free unit tests: fast, no Home Assistant instance."""
