"""Import an Enedis customer-area export (`linky.import_enedis_csv`).

The file is read by `conso/enedis_csv.py`; its complete days go through the meter
coordinator like any import (`LinkyCoordinator.async_import_days`): only days not stored
yet (and hour-by-hour days over daily ones) are written, into one exact chain of sums, and
they are never asked from Conso API afterwards. Nothing is written when the file is not the
entry's meter's (the production meter's for production, when it is a separate one), or
cannot say which series it holds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.core import HomeAssistant

from ..conso.enedis_csv import EnedisCsvError, ExportKind, parse_enedis_csv
from ..const import SERIES_CONSUMPTION, SERIES_PRODUCTION
from ..energy.ledger import Resolution
from .adopt import validation_error

if TYPE_CHECKING:
    from . import LinkyConfigEntry

MAX_PROBLEMS = 50
"""The problems listed in the response (all are counted)."""
_SERIES = {ExportKind.CONSUMPTION: SERIES_CONSUMPTION, ExportKind.PRODUCTION: SERIES_PRODUCTION}


async def async_import_enedis_export(
    hass: HomeAssistant,
    entry: LinkyConfigEntry,
    data: bytes,
    filename: str,
    series: str | None,
) -> dict[str, Any]:
    """Import the file's complete days into the meter's `series` (None: the series the
    file says); returns what was read and written."""
    coordinator = entry.runtime_data.coordinator
    try:
        parsed = await hass.async_add_executor_job(parse_enedis_csv, data, filename)
    except EnedisCsvError as err:
        raise validation_error(f"csv_{err.reason}", path=filename, detail=err.detail) from err
    if parsed.prm is None:
        raise validation_error("csv_no_prm", path=filename)
    options = coordinator.options
    # Production may come from a separate meter: its file names that meter's PRM.
    owners = {name: options.pdl_of(name) for name in options.series}
    if parsed.prm not in owners.values():
        raise validation_error(
            "csv_foreign_prm", path=filename, prm=parsed.prm, pdl=coordinator.pdl
        )
    if series is None:
        if parsed.kind is None:
            raise validation_error("csv_unknown_kind", path=filename)
        series = _SERIES[parsed.kind]
    if series not in owners:
        raise validation_error("adopt_series_unknown", series=series)
    if owners[series] != parsed.prm:
        raise validation_error("csv_foreign_prm", path=filename, prm=parsed.prm, pdl=owners[series])
    if not parsed.days:
        raise validation_error(
            "csv_no_complete_day", path=filename, problems=str(len(parsed.problems))
        )
    written = await coordinator.async_import_days(series, parsed.days)
    return {
        "series": series,
        "days_in_file": len(parsed.days),
        "hourly_days": sum(1 for day in parsed.days if day.resolution is Resolution.HOURLY),
        "first_day": parsed.days[0].day.isoformat(),
        "last_day": parsed.days[-1].day.isoformat(),
        "days_written": len(written),
        "days_already_stored": len(parsed.days) - len(written),
        "incomplete_days": [day.isoformat() for day in parsed.incomplete_days],
        "interval_minutes": parsed.step_minutes,
        "timestamps": parsed.stamp.value if parsed.stamp else None,
        "encoding": parsed.encoding,
        "problems_count": len(parsed.problems),
        "problems": [
            {"line": problem.line, "reason": problem.reason}
            for problem in parsed.problems[:MAX_PROBLEMS]
        ],
    }
