"""Loads pytest-homeassistant-custom-component 0.13.375 on Home Assistant 2026.11.0.

A pytest plugin for the `latest` test environment only (scripts/lib/env.sh loads it with
`-p phacc_compat` while requirements_test_latest_override.txt exists): no
pytest-homeassistant-custom-component release pins a Home Assistant 2026.11 yet, and the helpers
of 0.13.375 (copied from Home Assistant 2026.10.4's tests) fail to import on 2026.11.0:

- 2026.11 aliases `httpx` to `httpx2` in `homeassistant/__init__.py`, which raises if `httpx`
  is already imported, and the plugin imports `respx` (hence `httpx`) before Home Assistant.
  Importing the `homeassistant` package first fixes it; the package only imports
  `homeassistant.util`, `util.dt`, `util.ca_certs` and `util.httpx2_ssl`, as the plugin's
  first Home Assistant import does anyway.
- 2026.11 no longer re-exports the private `_clear_logger_overwrites` from
  `homeassistant.components.logger` (it stays in `logger.helpers`), and the plugin's
  `common.py` imports it from there. It is put back as soon as the package is imported: not
  earlier, since the plugin patches time and JSON functions before any other Home Assistant
  import.

Delete this file with requirements_test_latest_override.txt once a release pins 2026.11.
"""

from __future__ import annotations

from collections.abc import Sequence
import importlib.abc
import importlib.machinery
import sys
from types import ModuleType

import homeassistant  # noqa: F401  (first, see above)

_LOGGER_PACKAGE = "homeassistant.components.logger"


class _ReExportLoader(importlib.abc.Loader):
    """Runs the real loader, then re-exports `_clear_logger_overwrites`."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self._loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        _re_export(module)


class _ReExportFinder(importlib.abc.MetaPathFinder):
    """Wraps the loader of `homeassistant.components.logger`, once."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != _LOGGER_PACKAGE:
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is not None and spec.loader is not None:
            spec.loader = _ReExportLoader(spec.loader)
        return spec


def _re_export(module: ModuleType) -> None:
    if not hasattr(module, "_clear_logger_overwrites"):
        helpers = importlib.import_module(_LOGGER_PACKAGE + ".helpers")
        vars(module)["_clear_logger_overwrites"] = helpers._clear_logger_overwrites


if _LOGGER_PACKAGE in sys.modules:
    _re_export(sys.modules[_LOGGER_PACKAGE])
else:
    sys.meta_path.insert(0, _ReExportFinder())
