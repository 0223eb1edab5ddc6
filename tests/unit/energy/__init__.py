"""Tests of the energy maths (no Home Assistant)."""
