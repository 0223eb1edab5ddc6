"""The `linky.import_enedis_csv` action on the CSV fixtures (tests/fixtures/enedis_csv), their
fake PRM replaced by the meter's: both DST days stored hour by hour in one exact chain, bad,
cut and duplicated lines reported by number, no request; a foreign PRM, a file that is no
export, a path outside the configuration folder: a translated error and nothing written; a
separate production meter's file goes to the production series."""

from __future__ import annotations

from datetime import UTC, date, datetime
import json
from pathlib import Path
import re
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from conso_emulator import HOME_PDL, PV_PDL, Emulator
from custom_components.linky.conso.enedis_csv import parse_enedis_csv
from custom_components.linky.const import DOMAIN
from custom_components.linky.energy.hourly import day_hours
from custom_components.linky.localtime import PARIS
from custom_components.linky.statistics import statistic_id

from .helpers import (
    assert_sums_exact,
    by_hour,
    meter_entry,
    production_meter_entry,
    setup_integration,
    statistic_rows,
)

NOW = "2026-11-20 09:30:00+01:00"
FIXTURES = Path(__file__).parents[1] / "fixtures" / "enedis_csv"
FAKE_PRM = "12345678901234"
OURS = statistic_id(HOME_PDL, "consumption")


def _copy(hass: HomeAssistant, name: str, prm: str = HOME_PDL) -> str:
    """Copy a fixture into the configuration folder, its fake PRM (in the file and its name)
    replaced by `prm`; the path to give the action."""
    folder = Path(hass.config.config_dir) / "linky"
    folder.mkdir(exist_ok=True)
    data = (FIXTURES / name).read_bytes().replace(FAKE_PRM.encode(), prm.encode())
    target = folder / name.replace(FAKE_PRM, prm)
    target.write_bytes(data)
    return f"linky/{target.name}"


async def _import(
    hass: HomeAssistant, entry: MockConfigEntry, path: str, **data: Any
) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN,
        "import_enedis_csv",
        {"config_entry_id": entry.entry_id, "path": path, **data},
        blocking=True,
        return_response=True,
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    await async_wait_recording_done(hass)
    assert isinstance(response, dict)
    return response


async def _refused(hass: HomeAssistant, entry: MockConfigEntry, path: str, **data: Any) -> str:
    """The translation key of the action's error."""
    with pytest.raises(ServiceValidationError) as err:
        await _import(hass, entry, path, **data)
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key is not None
    return err.value.translation_key


def _hours_of(rows: list[dict], day: date) -> dict[datetime, float]:
    """Wh per UTC hour of a local day, from statistic rows in kWh."""
    return {h: kwh * 1000 for h, kwh in by_hour(rows).items() if h.astimezone(PARIS).date() == day}


@pytest.mark.freeze_time(NOW)
async def test_fixtures_through_the_action(
    hass: HomeAssistant, emulator: Emulator, emulator_url: str
) -> None:
    entry = meter_entry(emulator, emulator_url, HOME_PDL)
    await setup_integration(hass, entry)
    requests = len(emulator.requests)
    before = await statistic_rows(hass, OURS)
    outside = Path(hass.config.config_dir).parent / "outside.csv"
    outside.write_text("Horodate;Valeur\n", encoding="utf-8")
    not_export = Path(hass.config.config_dir) / "linky" / "notes.csv"
    not_export.parent.mkdir(exist_ok=True)
    not_export.write_text("nom;prenom\nDupont;Jean\n", encoding="utf-8")

    # Refused with a translated error, nothing written.
    assert await _refused(hass, entry, _copy(hass, "mes_donnees_autre_prm.csv")) == (
        "csv_foreign_prm"
    )
    foreign = _copy(hass, "mes_donnees_courbe_mars.csv", "11111111111111")
    assert await _refused(hass, entry, foreign) == "csv_foreign_prm"
    assert await _refused(hass, entry, "linky/notes.csv") == "csv_not_export"
    assert await _refused(hass, entry, str(outside)) == "path_not_allowed"
    assert await _refused(hass, entry, "linky/missing.csv") == "file_unreadable"
    prod = _copy(hass, f"historique_prod_{FAKE_PRM}_virgule.csv")
    assert await _refused(hass, entry, prod) == "adopt_series_unknown"  # no production here
    assert await statistic_rows(hass, OURS) == before

    # Both DST days, hour by hour: the file's hours, to the Wh.
    march = _copy(hass, "mes_donnees_courbe_mars.csv")
    october = _copy(hass, f"historique_conso_{FAKE_PRM}_2025-10-27.csv")
    for path, day, hours in ((march, date(2025, 3, 30), 23), (october, date(2025, 10, 26), 25)):
        response = await _import(hass, entry, path)
        assert response["series"] == "consumption"
        assert response["days_written"] == 1
        rows = await statistic_rows(hass, OURS)
        stored = _hours_of(rows, day)
        assert list(stored) == day_hours(day)
        assert len(stored) == hours
        name = Path(path).name
        parsed = parse_enedis_csv((FIXTURES / name.replace(HOME_PDL, FAKE_PRM)).read_bytes(), name)
        [data] = [d for d in parsed.days if d.day == day]
        assert stored == pytest.approx({h.astimezone(UTC): wh for h, wh in data.hours.items()})

    # Duplicated and bad lines: reported by number, the sound day written.
    duplicates = await _import(hass, entry, _copy(hass, "mes_donnees_doublons.csv"))
    assert duplicates["days_written"] == 1
    assert [p["line"] for p in duplicates["problems"]] == [54, 63, 64, 65, 66]
    assert duplicates["incomplete_days"] == ["2025-01-11", "2025-01-12"]
    assert set(_hours_of(await statistic_rows(hass, OURS), date(2025, 1, 10)).values()) == {1000}
    # A truncated file: its cut line reported, its whole day written.
    cut = await _import(hass, entry, _copy(hass, "mes_donnees_courbe_tronquee.csv"))
    assert (cut["days_written"], cut["problems"]) == (1, [{"line": 58, "reason": "line cut short"}])

    rows = await statistic_rows(hass, OURS)
    assert_sums_exact(rows, from_zero=True)
    assert len(emulator.requests) == requests
    again = await _import(hass, entry, march)
    assert (again["days_written"], again["days_already_stored"]) == (0, 1)
    assert await statistic_rows(hass, OURS) == rows


@pytest.mark.freeze_time(NOW)
async def test_a_separate_production_meters_file_goes_to_production(
    hass: HomeAssistant, emulator: Emulator, emulator_url: str
) -> None:
    """The production series of a meter whose production is read from another PRM takes
    that PRM's production export; that PRM's consumption export is refused."""
    entry = production_meter_entry(emulator, emulator_url, HOME_PDL, PV_PDL)
    await setup_integration(hass, entry)
    production = statistic_id(HOME_PDL, "production")
    before = await statistic_rows(hass, production)

    consumption_of_pv = _copy(hass, f"historique_conso_{FAKE_PRM}_2025-10-27.csv", PV_PDL)
    assert await _refused(hass, entry, consumption_of_pv) == "csv_foreign_prm"
    forced = await _refused(hass, entry, consumption_of_pv, series="consumption")
    assert forced == "csv_foreign_prm"
    assert await statistic_rows(hass, production) == before

    response = await _import(
        hass, entry, _copy(hass, f"historique_prod_{FAKE_PRM}_virgule.csv", PV_PDL)
    )
    assert (response["series"], response["days_written"]) == ("production", 1)
    rows = await statistic_rows(hass, production)
    stored = _hours_of(rows, date(2025, 1, 15))
    assert list(stored.values()) == pytest.approx([303 + 12 * h for h in range(24)])
    assert_sums_exact(rows, from_zero=True)


ACTION_ERRORS: dict[str, set[str]] = {
    "adopt_series_unknown": {"series"},
    "adopt_source_own": {"source"},
    "adopt_source_missing": {"source"},
    "adopt_source_unit": {"source", "unit"},
    "adopt_no_source": {"pdl", "sources"},
    "csv_no_prm": {"path"},
    "csv_foreign_prm": {"path", "prm", "pdl"},
    "csv_unknown_kind": {"path"},
    "csv_no_complete_day": {"path", "problems"},
    **{
        f"csv_{reason}": {"path", "detail"}
        for reason in ("not_export", "max_power", "unknown_unit", "unknown_step", "daily_power")
    },
}
"""The errors of `adopt_history` and `import_enedis_csv` and the placeholders they are
given (`csv_<reason>`: every `EnedisCsvError` reason)."""


@pytest.mark.parametrize("language", ["en", "fr"])
def test_action_errors_are_translated_with_the_placeholders_they_get(language: str) -> None:
    texts = json.loads(
        (Path(__file__).parents[2] / "custom_components" / "linky" / "translations")
        .joinpath(f"{language}.json")
        .read_text(encoding="utf-8")
    )
    for key, given in ACTION_ERRORS.items():
        message = texts["exceptions"][key]["message"]
        assert set(re.findall(r"{(\w+)}", message)) <= given, (language, key)
    abort = texts["issues"]["adopt_history"]["fix_flow"]["abort"]["adopt_failed"]
    assert set(re.findall(r"{(\w+)}", abort)) == {"error"}
