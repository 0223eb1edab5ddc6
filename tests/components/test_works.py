"""The before/after report of works, end to end (emulator over 127.0.0.1, a real recorder,
frozen time): an electrically heated household whose base load drops by 200 W after its
works, its daily history and imported temperatures. The action returns the avoided energy
with its interval, saves the Markdown report and shows it in a notification; bad periods
and a meter without temperatures get a clear error."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from homeassistant.components import persistent_notification
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
import pytest

from conso_emulator import Emulator
from conso_emulator.meters import Meter
from conso_emulator.truth import outdoor_temperature
from custom_components.linky.const import CONF_DAILY_HISTORY_MONTHS, DOMAIN
from custom_components.linky.runtime.insight_sources import async_import_temperatures
from custom_components.linky.services import SERVICE_GET_WORKS_SAVINGS

from .helpers import meter_entry, setup_integration
from .test_insights import NOW

PDL = "25946599093211"
WORKS = (date(2025, 12, 1), date(2025, 12, 14))
SAVED_W = 200.0


async def _call(hass: HomeAssistant, entry_id: str, **fields: Any) -> dict[str, Any]:
    answer = await hass.services.async_call(
        DOMAIN,
        SERVICE_GET_WORKS_SAVINGS,
        {"config_entry_id": entry_id, **fields},
        blocking=True,
        return_response=True,
    )
    assert isinstance(answer, dict)
    return answer


@pytest.mark.freeze_time(NOW)
async def test_works_savings_of_a_lower_base_load(
    hass: HomeAssistant, emulator: Emulator, emulator_url: str
) -> None:
    emulator.add_meter(
        Meter(PDL, profile="heating", extra_base_w=((WORKS[1] + timedelta(days=1), -SAVED_W),))
    )
    entry = meter_entry(emulator, emulator_url, PDL, **{CONF_DAILY_HISTORY_MONTHS: 22})
    entry.add_to_hass(hass)
    first, last = date(2024, 12, 1), date(2026, 11, 22)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    await async_import_temperatures(
        hass, entry.entry_id, {day: outdoor_temperature(day) for day in days}
    )
    await setup_integration(hass, entry)
    hass.config.language = "fr"

    answer = await _call(
        hass, entry.entry_id, works_start=WORKS[0].isoformat(), works_end=WORKS[1].isoformat()
    )
    assert answer["reporting_first"] == "2025-12-15"
    assert answer["reporting_last"] == "2026-11-22"
    truth = SAVED_W * 24 / 1000 * answer["reporting_days"]
    assert answer["avoided_low"] <= truth <= answer["avoided_high"]
    assert answer["avoided_kwh"] == pytest.approx(truth, rel=0.25)
    assert answer["significant"] is True
    assert answer["baseline"]["kind"] == "heating"
    assert answer["avoided_eur"] is None  # no tariff: no price
    assert answer["baseline_last"] == "2025-11-30"  # the works are left out

    report = Path(hass.config.path(answer["report_path"]))
    text = await hass.async_add_executor_job(report.read_text, "utf-8")
    assert text.startswith(f"# Rapport avant/après travaux : compteur {PDL}")
    assert "pas un document CEE" in text
    notifications = persistent_notification._async_get_or_create_notifications(hass)
    assert notifications[f"{DOMAIN}_works_{PDL}"]["message"].startswith(text.rstrip())

    # the same call again: the same figures (nothing stored moved), the report rewritten
    again = await _call(
        hass, entry.entry_id, works_start=WORKS[0].isoformat(), works_end=WORKS[1].isoformat()
    )
    assert again == answer

    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, entry.entry_id, works_start="2025-12-14", works_end="2025-12-01")
    assert err.value.translation_key == "works_bad_period"
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, entry.entry_id, works_start="2025-01-01", works_end="2025-01-05")
    assert err.value.translation_key == "works_no_baseline"
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, entry.entry_id, works_start="2025-12-01", works_end="2026-11-01")
    assert err.value.translation_key == "works_not_enough_reporting_days"
    assert err.value.translation_placeholders == {"reason": "", "days": "21"}


@pytest.mark.freeze_time(NOW)
async def test_works_savings_need_a_temperature(
    hass: HomeAssistant, emulator: Emulator, emulator_url: str
) -> None:
    emulator.add_meter(Meter(PDL, profile="heating"))
    entry = meter_entry(emulator, emulator_url, PDL, **{CONF_DAILY_HISTORY_MONTHS: 2})
    await setup_integration(hass, entry)
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, entry.entry_id, works_start="2026-10-01", works_end="2026-10-05")
    assert err.value.translation_key == "works_no_temperature"
