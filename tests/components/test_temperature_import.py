"""The action `linky.import_temperatures` (emulator over 127.0.0.1, a real recorder): a
daily temperature file in the configuration folder is saved for the meter, answers what it
read, is used by the insights as a temperature source, and bad input is a clear error that
saves nothing."""

from __future__ import annotations

from datetime import date, timedelta
import gzip
from pathlib import Path

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
import pytest

from conso_emulator import HOME_PDL, Emulator
from conso_emulator.truth import outdoor_temperature
from custom_components.linky.const import (
    CONF_DAILY_HISTORY_MONTHS,
    CONF_HOURLY_HISTORY_MONTHS,
    CONF_INSIGHTS,
    DOMAIN,
)
from custom_components.linky.energy.hourly import local_day_bounds
from custom_components.linky.runtime.insight_sources import (
    async_day_temperatures,
    async_import_temperatures,
    async_load_imported_temperatures,
)
from custom_components.linky.services import SERVICE_IMPORT_TEMPERATURES

from .helpers import capture_insight_events, meter_entry, setup_integration
from .test_insights import NOW

FIRST = date(2026, 7, 1)
LAST = date(2026, 11, 22)
METEO_FRANCE_HEAD = "NUM_POSTE;NOM_USUEL;LAT;LON;ALTI;AAAAMMJJ;RR;QRR;TN;QTN;TX;QTX;TM;QTM"


def _days() -> list[date]:
    return [FIRST + timedelta(days=n) for n in range((LAST - FIRST).days + 1)]


def _meteo_france() -> str:
    rows = [METEO_FRANCE_HEAD]
    for day in _days():
        mean = outdoor_temperature(day)
        for station, name, shift in (
            ("75114001", "PARIS-MONTSOURIS", 0.0),
            ("78621001", "TRAPPES", -1.0),
        ):
            rows.append(
                f"{station};{name};48.8;2.3;75;{day:%Y%m%d};0.0;1;{mean - 4:.1f};1;"
                f"{mean + 4:.1f};1;{mean + shift:.1f};1"
            )
    return "\n".join(rows) + "\n"


async def _call(hass: HomeAssistant, entry_id: str, path: str, **extra: str) -> dict:
    response = await hass.services.async_call(
        DOMAIN,
        SERVICE_IMPORT_TEMPERATURES,
        {"config_entry_id": entry_id, "path": path, **extra},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    return dict(response)


@pytest.fixture
def config_dir(hass: HomeAssistant, tmp_path: Path) -> Path:
    hass.config.config_dir = str(tmp_path)
    return tmp_path


@pytest.mark.freeze_time(NOW)
async def test_a_meteo_france_file_is_imported_for_the_meter(
    hass: HomeAssistant, emulator: Emulator, emulator_url: str, config_dir: Path
) -> None:
    entry = meter_entry(emulator, emulator_url, HOME_PDL, **{CONF_DAILY_HISTORY_MONTHS: 1})
    await setup_integration(hass, entry)
    folder = config_dir / "linky"
    folder.mkdir()
    (folder / "Q_75.csv.gz").write_bytes(gzip.compress(_meteo_france().encode("utf-8")))

    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, entry.entry_id, "linky/Q_75.csv.gz")
    assert err.value.translation_key == "temperature_file_several_stations"
    assert err.value.translation_placeholders == {"detail": "75114001, 78621001"}
    assert await async_load_imported_temperatures(hass, entry.entry_id) == {}

    answer = await _call(hass, entry.entry_id, "linky/Q_75.csv.gz", station="75114001")
    assert answer == {
        "days": len(_days()),
        "first_day": FIRST.isoformat(),
        "last_day": LAST.isoformat(),
        "rows_skipped": 0,
        "station": "75114001",
        "days_stored": len(_days()),
    }
    stored = await async_load_imported_temperatures(hass, entry.entry_id)
    assert stored[date(2026, 11, 16)] == pytest.approx(
        outdoor_temperature(date(2026, 11, 16)), abs=0.06
    )

    # a later file adds its days and replaces the days it repeats
    (config_dir / "more.csv").write_text("date,temperature\n2026-11-16,30.5\n2026-11-23,1.0\n")
    answer = await _call(hass, entry.entry_id, str(config_dir / "more.csv"))
    assert answer["days"] == 2
    assert answer["days_stored"] == len(_days()) + 1
    stored = await async_load_imported_temperatures(hass, entry.entry_id)
    assert stored[date(2026, 11, 16)] == 30.5

    # the imported days are what a meter without a sensor reads, in the window asked
    start, end = local_day_bounds(date(2026, 11, 10))[0], local_day_bounds(date(2026, 11, 17))[0]
    read = await async_day_temperatures(hass, entry.entry_id, None, start, end)
    assert read is not None
    assert sorted(read) == [date(2026, 11, 10) + timedelta(days=n) for n in range(7)]

    # deleting the entry forgets them
    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert await async_load_imported_temperatures(hass, entry.entry_id) == {}


@pytest.mark.freeze_time(NOW)
async def test_bad_input_is_a_clear_error(
    hass: HomeAssistant, emulator: Emulator, emulator_url: str, config_dir: Path
) -> None:
    entry = meter_entry(emulator, emulator_url, HOME_PDL, **{CONF_DAILY_HISTORY_MONTHS: 1})
    await setup_integration(hass, entry)
    (config_dir / "bad.csv").write_text("when,what\n2026-01-01,1\n")
    outside = config_dir.parent / "outside.csv"
    outside.write_text("date,temperature\n2026-01-01,1\n")
    cases = [
        ("nothing-here.csv", "file_unreadable"),
        ("../outside.csv", "path_not_allowed"),
        (str(outside), "path_not_allowed"),
        ("bad.csv", "temperature_file_unknown_columns"),
    ]
    for path, key in cases:
        with pytest.raises(ServiceValidationError) as err:
            await _call(hass, entry.entry_id, path)
        assert err.value.translation_key == key, path
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "not-an-entry", "bad.csv")
    assert err.value.translation_key == "service_config_entry_not_found"
    await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.NOT_LOADED
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, entry.entry_id, "bad.csv")
    assert err.value.translation_key == "service_config_entry_not_loaded"
    assert await async_load_imported_temperatures(hass, entry.entry_id) == {}


@pytest.mark.freeze_time(NOW)
@pytest.mark.parametrize("imported", [True, False])
async def test_imported_temperatures_weather_correct_the_weekly_report(
    hass: HomeAssistant, emulator: Emulator, emulator_url: str, imported: bool
) -> None:
    """Without a temperature sensor, the imported days make the insights weather-aware:
    the weekly change of the heated household is also given weather-corrected (and is not
    without them)."""
    entry = meter_entry(
        emulator,
        emulator_url,
        HOME_PDL,
        **{CONF_DAILY_HISTORY_MONTHS: 4, CONF_HOURLY_HISTORY_MONTHS: 3, CONF_INSIGHTS: {}},
    )
    entry.add_to_hass(hass)
    if imported:
        await async_import_temperatures(
            hass, entry.entry_id, {day: outdoor_temperature(day) for day in _days()}
        )
    fired = capture_insight_events(hass, HOME_PDL)
    await setup_integration(hass, entry)
    report = next(data for kind, data in fired if kind == "weekly_report")
    assert (report["vs_previous"]["weather_kwh"] is not None) is imported
