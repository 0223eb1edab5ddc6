"""Tests of the shell scripts' process handling."""
