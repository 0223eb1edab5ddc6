"""Shared pytest setup."""

# Import our package first: Home Assistant's test config dir has its own `custom_components`
# that would otherwise shadow this repository's package.
import custom_components.linky  # noqa: F401
