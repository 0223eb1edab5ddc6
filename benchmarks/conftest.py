"""Fixtures of the benchmarks: the integration tests' own (emulator, entry, recorder)."""

# Import our package first: Home Assistant's test config dir has its own `custom_components`
# that would otherwise shadow this repository's package.
import custom_components.linky  # noqa: F401
from tests.components.conftest import (
    auto_enable_custom_integrations,
    config_entry,
    emulator,
    home_token,
)

__all__ = [
    "auto_enable_custom_integrations",
    "config_entry",
    "emulator",
    "home_token",
]
