"""The before/after report of works for one meter (the action `linky.get_works_savings`).

Reads what is stored (no Conso API request): the consumption days from 365 days before the
works to the end of the reporting period, their temperatures and the days to leave out (the
energy signature's reader), and, when a tariff is set, the energy cost of the reporting days
for the average price. `analytics/works.py` computes, `analytics/works_text.py` writes the
Markdown report in the user's language. The report is saved in the configuration folder
(`linky/works_<pdl>_<start>_<end>.md`: not served over HTTP, it describes the household's
consumption) and shown in a persistent notification.
"""

from __future__ import annotations

from datetime import date, timedelta
import math
from pathlib import Path
from typing import Any, Final

from homeassistant.components import persistent_notification
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.recorder import get_instance

from ..analytics.works import (
    BASELINE_DAYS,
    MAX_REPORTING_DAYS,
    NoWorksSavings,
    WorksSavings,
    works_savings,
)
from ..analytics.works_text import render_works
from ..const import DOMAIN
from ..energy.costs import SERIES_COST
from ..statistics import read_stored_days, statistic_id
from .signature import SignaturePart

REPORT_FOLDER: Final = "linky"


async def async_works_savings(
    hass: HomeAssistant,
    part: SignaturePart,
    works_start: date,
    works_end: date,
    reporting_end: date | None,
) -> dict[str, Any]:
    """The works' avoided energy as response data (with the report's path); raises
    ServiceValidationError when there is none (and says why)."""
    today = part.today
    last = min(reporting_end or today, today, works_end + timedelta(days=MAX_REPORTING_DAYS))
    first = works_start - timedelta(days=BASELINE_DAYS)
    inputs = await part.async_daily_inputs(first, last + timedelta(days=1))
    if inputs is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="works_no_temperature"
        )
    kwh = inputs.kwh
    price = await _async_price(hass, part.pdl, works_end + timedelta(days=1), last, kwh)
    result = await hass.async_add_executor_job(
        lambda: works_savings(
            kwh,
            inputs.temperatures,
            works_start,
            works_end,
            inputs.excluded,
            reporting_end=last,
            price_eur_per_kwh=price,
        )
    )
    if isinstance(result, NoWorksSavings):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key=f"works_{result.error.value}",
            translation_placeholders={
                "reason": str(result.baseline_reason or ""),
                "days": str(result.reporting_days),
            },
        )
    return await _async_tell(hass, part.pdl, result)


async def _async_price(
    hass: HomeAssistant, pdl: str, first: date, last: date, kwh: dict[date, float]
) -> float | None:
    """The average energy price (EUR/kWh) of the days first..last that have a cost stored
    (None: no tariff, or no such day)."""
    days = {first + timedelta(days=n) for n in range((last - first).days + 1)}
    stored = await get_instance(hass).async_add_executor_job(
        read_stored_days, hass, statistic_id(pdl, SERIES_COST), days
    )
    cost = {data.day: data.total_wh for data in stored if data.day in kwh}  # EUR
    energy = math.fsum(kwh[day] for day in cost)
    if energy <= 0:
        return None
    return math.fsum(cost.values()) / energy


async def _async_tell(hass: HomeAssistant, pdl: str, result: WorksSavings) -> dict[str, Any]:
    """Save the report, show it in a persistent notification; the response data."""
    report = render_works(result, pdl, hass.config.language)
    name = f"works_{pdl}_{result.works_start.isoformat()}_{result.works_end.isoformat()}.md"
    path = Path(hass.config.path(REPORT_FOLDER, name))
    await hass.async_add_executor_job(_write, path, report)
    relative = f"{REPORT_FOLDER}/{name}"
    persistent_notification.async_create(
        hass,
        f"{report}\n`{relative}`",
        title=report.splitlines()[0].lstrip("# "),
        notification_id=f"{DOMAIN}_works_{pdl}",
    )
    return result.as_dict() | {"report_path": relative}


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
