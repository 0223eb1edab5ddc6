"""HA-free tests of the options model and the layout of the integration."""
