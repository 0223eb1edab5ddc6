"""The integration's actions, registered once for every entry (`async_setup`).

- `linky.import_temperatures`: daily mean outdoor temperatures from a CSV file in the
  configuration folder (a simple `date,temperature` file or Météo-France's daily
  climatological file), saved for a meter so that its insights and energy signature are
  weather-corrected for the years before a temperature sensor existed. Returns what was
  read.
- `linky.get_energy_signature`: a meter's energy signature (the fit and its figures) and its
  points (day, temperature, kWh, used or left out), for cards and scripts.
- `linky.get_works_savings`: the energy works avoided, weather corrected, with its 90 %
  interval (`runtime/works.py`); also saved as a Markdown report and shown in a persistent
  notification.
- `linky.compare_tariffs`: the last months' consumption priced on Base, HP/HC and Tempo at
  the regulated prices (`runtime/tariff_compare.py`).
- `linky.simulate_load_shift`: the same with a block of kWh a day, or a recorded load, moved
  into a window.
- `linky.adopt_history`: the history another Linky tool wrote (the ha-linky add-on's
  `linky:<prm>`, or named statistics) copied before this meter's own, previewed first,
  undone until confirmed, and the Energy dashboard switched if asked (`runtime/adopt.py`).
- `linky.import_enedis_csv`: a CSV export of the Enedis customer area (or the same shape)
  from the configuration folder, its complete days stored like the API's and never asked
  again (`runtime/file_import.py`).

Bad input (an entry that is not a loaded Linky meter, a path outside the configuration
folder, a missing or unreadable file) raises `ServiceValidationError` with a translated
message; nothing is saved then.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Final

from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv, service
import probatio as vol

from .analytics.weather import TemperatureFile, TemperatureFileError, parse_temperature_csv
from .const import DOMAIN, SERIES_CONSUMPTION, SERIES_PRODUCTION
from .runtime import LinkyConfigEntry
from .runtime.adopt import MODE_PREVIEW, MODES, async_adopt_history
from .runtime.file_import import async_import_enedis_export
from .runtime.insight_sources import async_import_temperatures
from .runtime.signature import SignaturePart
from .runtime.tariff_compare import (
    DEFAULT_MONTHS,
    MAX_MONTHS,
    async_compare_tariffs,
    async_simulate_load_shift,
)
from .runtime.works import async_works_savings

SERVICE_IMPORT_TEMPERATURES: Final = "import_temperatures"
SERVICE_GET_ENERGY_SIGNATURE: Final = "get_energy_signature"
SERVICE_GET_WORKS_SAVINGS: Final = "get_works_savings"
SERVICE_COMPARE_TARIFFS: Final = "compare_tariffs"
SERVICE_SIMULATE_LOAD_SHIFT: Final = "simulate_load_shift"
SERVICE_ADOPT_HISTORY: Final = "adopt_history"
SERVICE_IMPORT_ENEDIS_CSV: Final = "import_enedis_csv"
ATTR_SERIES: Final = "series"
ATTR_MODE: Final = "mode"
ATTR_CONSUMPTION_SOURCES: Final = "consumption_sources"
ATTR_PRODUCTION_SOURCES: Final = "production_sources"
ATTR_SWITCH_ENERGY: Final = "switch_energy_dashboard"
ATTR_MONTHS: Final = "months"
ATTR_KWH_PER_DAY: Final = "kwh_per_day"
ATTR_ENTITY_ID: Final = "entity_id"
ATTR_TARGET_WINDOW: Final = "target_window"
ATTR_WORKS_START: Final = "works_start"
ATTR_WORKS_END: Final = "works_end"
ATTR_REPORTING_END: Final = "reporting_end"
ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"
ATTR_PATH: Final = "path"
ATTR_STATION: Final = "station"
MAX_FILE_BYTES: Final = 200 * 1024 * 1024
"""A département's daily file since 1950 is about 150 MB uncompressed."""

ENTRY_SCHEMA: Final = vol.Schema({vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string})
WORKS_SCHEMA: Final = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Required(ATTR_WORKS_START): cv.date,
        vol.Required(ATTR_WORKS_END): cv.date,
        vol.Optional(ATTR_REPORTING_END): cv.date,
    }
)
_MONTHS: Final = vol.All(vol.Coerce(int), vol.Range(min=1, max=MAX_MONTHS))
COMPARE_SCHEMA: Final = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Optional(ATTR_MONTHS, default=DEFAULT_MONTHS): _MONTHS,
    }
)
SHIFT_SCHEMA: Final = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Optional(ATTR_KWH_PER_DAY): vol.All(vol.Coerce(float), vol.Range(min=0, max=1000)),
        vol.Optional(ATTR_ENTITY_ID): cv.entity_id,
        vol.Required(ATTR_TARGET_WINDOW): cv.string,
        vol.Optional(ATTR_MONTHS, default=DEFAULT_MONTHS): _MONTHS,
    }
)
ADOPT_SCHEMA: Final = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Optional(ATTR_MODE, default=MODE_PREVIEW): vol.In(MODES),
        vol.Optional(ATTR_CONSUMPTION_SOURCES): vol.All(cv.ensure_list, [cv.string]),
        vol.Optional(ATTR_PRODUCTION_SOURCES): vol.All(cv.ensure_list, [cv.string]),
        vol.Optional(ATTR_SWITCH_ENERGY, default=False): cv.boolean,
    }
)
IMPORT_CSV_SCHEMA: Final = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Required(ATTR_PATH): cv.string,
        vol.Optional(ATTR_SERIES): vol.In((SERIES_CONSUMPTION, SERIES_PRODUCTION)),
    }
)
IMPORT_TEMPERATURES_SCHEMA: Final = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Required(ATTR_PATH): cv.string,
        vol.Optional(ATTR_STATION): cv.string,
    }
)


def async_setup_services(hass: HomeAssistant) -> None:
    """Register the actions."""

    async def import_temperatures(call: ServiceCall) -> ServiceResponse:
        entry = loaded_entry(hass, call.data[ATTR_CONFIG_ENTRY_ID])
        path = _allowed_path(hass, call.data[ATTR_PATH])
        parsed = await hass.async_add_executor_job(
            _read_temperatures, path, call.data.get(ATTR_STATION)
        )
        stored = await async_import_temperatures(hass, entry.entry_id, parsed.days)
        for part in entry.runtime_data.derived:
            await part.async_temperatures_changed()
        return {
            "days": len(parsed.days),
            "first_day": min(parsed.days).isoformat(),
            "last_day": max(parsed.days).isoformat(),
            "rows_skipped": parsed.skipped,
            "station": parsed.station,
            "days_stored": len(stored),
        }

    async def get_energy_signature(call: ServiceCall) -> ServiceResponse:
        part = await _signature_part(hass, call)
        return part.response()

    async def get_works_savings(call: ServiceCall) -> ServiceResponse:
        part = await _signature_part(hass, call)
        return await async_works_savings(
            hass,
            part,
            call.data[ATTR_WORKS_START],
            call.data[ATTR_WORKS_END],
            call.data.get(ATTR_REPORTING_END),
        )

    async def compare_tariffs(call: ServiceCall) -> ServiceResponse:
        entry = loaded_entry(hass, call.data[ATTR_CONFIG_ENTRY_ID])
        return await async_compare_tariffs(hass, entry, call.data[ATTR_MONTHS])

    async def simulate_load_shift(call: ServiceCall) -> ServiceResponse:
        entry = loaded_entry(hass, call.data[ATTR_CONFIG_ENTRY_ID])
        return await async_simulate_load_shift(
            hass,
            entry,
            call.data[ATTR_MONTHS],
            call.data[ATTR_TARGET_WINDOW],
            kwh_per_day=call.data.get(ATTR_KWH_PER_DAY),
            entity_id=call.data.get(ATTR_ENTITY_ID),
        )

    async def adopt_history(call: ServiceCall) -> ServiceResponse:
        entry = loaded_entry(hass, call.data[ATTR_CONFIG_ENTRY_ID])
        given = {
            series: call.data[key]
            for series, key in (
                (SERIES_CONSUMPTION, ATTR_CONSUMPTION_SOURCES),
                (SERIES_PRODUCTION, ATTR_PRODUCTION_SOURCES),
            )
            if call.data.get(key)
        }
        return await async_adopt_history(
            hass, entry, call.data[ATTR_MODE], given, call.data[ATTR_SWITCH_ENERGY]
        )

    async def import_enedis_csv(call: ServiceCall) -> ServiceResponse:
        entry = loaded_entry(hass, call.data[ATTR_CONFIG_ENTRY_ID])
        path = _allowed_path(hass, call.data[ATTR_PATH])
        data = await hass.async_add_executor_job(_read_bytes, path)
        return await async_import_enedis_export(
            hass, entry, data, path.name, call.data.get(ATTR_SERIES)
        )

    only, optional = SupportsResponse.ONLY, SupportsResponse.OPTIONAL
    for name, handler, schema, response in (
        (SERVICE_ADOPT_HISTORY, adopt_history, ADOPT_SCHEMA, optional),
        (SERVICE_IMPORT_ENEDIS_CSV, import_enedis_csv, IMPORT_CSV_SCHEMA, optional),
        (SERVICE_COMPARE_TARIFFS, compare_tariffs, COMPARE_SCHEMA, only),
        (SERVICE_SIMULATE_LOAD_SHIFT, simulate_load_shift, SHIFT_SCHEMA, only),
        (SERVICE_GET_WORKS_SAVINGS, get_works_savings, WORKS_SCHEMA, optional),
        (SERVICE_GET_ENERGY_SIGNATURE, get_energy_signature, ENTRY_SCHEMA, only),
        (SERVICE_IMPORT_TEMPERATURES, import_temperatures, IMPORT_TEMPERATURES_SCHEMA, optional),
    ):
        hass.services.async_register(
            DOMAIN, name, handler, schema=schema, supports_response=response
        )


def loaded_entry(hass: HomeAssistant, entry_id: str) -> LinkyConfigEntry:
    """The loaded Linky entry `entry_id`, or Home Assistant's ServiceValidationError (not
    found, another integration's, not loaded)."""
    entry: LinkyConfigEntry = service.async_get_config_entry(hass, DOMAIN, entry_id)
    return entry


async def _signature_part(hass: HomeAssistant, call: ServiceCall) -> SignaturePart:
    """The energy signature part of the call's meter, once its run in progress is done."""
    entry = loaded_entry(hass, call.data[ATTR_CONFIG_ENTRY_ID])
    part = next(p for p in entry.runtime_data.derived if isinstance(p, SignaturePart))
    await part.async_wait_idle()
    return part


def _allowed_path(hass: HomeAssistant, text: str) -> Path:
    """`text` as a path in the configuration folder (relative to it, or absolute), or in a
    folder `allowlist_external_dirs` allows."""
    config = Path(hass.config.config_dir).resolve()
    path = (config / text.strip()).resolve()
    if not path.is_relative_to(config) and not hass.config.is_allowed_path(str(path)):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="path_not_allowed",
            translation_placeholders={"path": text},
        )
    return path


def _read_temperatures(path: Path, station: str | None) -> TemperatureFile:
    """The daily means of the file (in the executor: a file can be large)."""
    try:
        return parse_temperature_csv(_read_text(path), station)
    except TemperatureFileError as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key=f"temperature_file_{err.reason}",
            translation_placeholders={"detail": err.detail},
        ) from err


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, gzip-compressed or not (in the executor)."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="file_unreadable",
            translation_placeholders={"path": path.name, "error": str(err)},
        ) from err
    if len(data) > MAX_FILE_BYTES:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="file_too_large",
            translation_placeholders={"path": path.name},
        )
    return data


def _read_text(path: Path) -> str:
    """The file's text (gzip-compressed or not; UTF-8, else Latin-1)."""
    data = _read_bytes(path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")
