"""The tree stays easy to read: HA-free modules import nothing from Home Assistant, and no
module of the integration grows much over 500 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

INTEGRATION = Path(__file__).parents[3] / "custom_components" / "linky"
HA_FREE = (
    "conso",
    "sync",
    "energy",
    "shedding",
    "analytics",
    "options.py",
    "atomic.py",
    "localtime.py",
    "const.py",
)
MAX_LINES = 500


def _modules(names: tuple[str, ...]) -> list[Path]:
    paths: list[Path] = []
    for name in names:
        path = INTEGRATION / name
        paths.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return paths


def _imports(path: Path) -> set[str]:
    """Absolute names a module imports (relative imports resolved against the package)."""
    package = path.parent.relative_to(INTEGRATION.parent.parent).parts
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                found.add(".".join([*base, node.module or ""]).rstrip("."))
            elif node.module:
                found.add(node.module)
    return found


@pytest.mark.parametrize("path", _modules(HA_FREE), ids=lambda path: path.name)
def test_ha_free_modules_do_not_import_home_assistant(path: Path) -> None:
    """Neither directly nor through a glue module of the integration."""
    glue = {
        f"custom_components.linky.{p.stem}"
        for p in INTEGRATION.glob("*.py")
        if p.name not in HA_FREE and p.stem != "__init__"
    } | {"custom_components.linky.runtime"}
    for name in _imports(path):
        assert not name.startswith("homeassistant"), (path, name)
        assert not any(name == g or name.startswith(f"{g}.") for g in glue), (path, name)


def test_no_module_over_500_lines() -> None:
    """One module, one job."""
    sizes = {
        str(path.relative_to(INTEGRATION)): len(path.read_text("utf-8").splitlines())
        for path in INTEGRATION.rglob("*.py")
    }
    assert {name: lines for name, lines in sizes.items() if lines > MAX_LINES} == {}
