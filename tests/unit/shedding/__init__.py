"""Tests of the HA-free load-shedding and self-consumption package."""
