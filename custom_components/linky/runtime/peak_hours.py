"""The typical peak hours of a meter over the last 30 days, for a sensor.

Read from the hourly consumption rows of `linky:<pdl>_consumption` in the recorder (no Conso
API request), at start and after each import run that wrote a day of the window or moved it.
Only complete hourly local days count (see `analytics.peaks`).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Final

from ..analytics.peaks import PeakHours, complete_hourly_days, typical_peak_hours
from ..const import SERIES_CONSUMPTION
from ..energy.hourly import local_day_bounds
from ..options import LinkyOptions
from ..statistics import statistic_id
from .derived import PartContext, PartSensorDescription, WindowedPart

PEAK_DAYS: Final = 30


def _hours_text(part: PeakHoursPart) -> str | None:
    peaks = part.typical
    return None if peaks is None else ", ".join(f"{h:02d}:00" for h in sorted(peaks.hours))


def _hours_attributes(part: PeakHoursPart) -> dict[str, object] | None:
    """The peak hours (local, 0-23), the average Wh of each (same order), the days used."""
    peaks = part.typical
    if peaks is None:
        return None
    hours = sorted(peaks.hours)
    return {
        "hours": hours,
        "average_wh": [round(peaks.average_wh[hour], 1) for hour in hours],
        "days": peaks.days,
    }


class PeakHoursPart(WindowedPart):
    """Keeps one meter's typical peak hours of the last 30 days up to date."""

    key = "peak_hours"
    stored = False
    sensor_descriptions = (
        PartSensorDescription["PeakHoursPart"](
            key="typical_peak_hours",
            translation_key="typical_peak_hours",
            value_fn=_hours_text,
            attr_fn=_hours_attributes,
        ),
    )

    def __init__(self, context: PartContext) -> None:
        super().__init__(context)
        # None until computed, or without any complete hourly day in the window.
        self.typical: PeakHours | None = None

    @classmethod
    def wanted(cls, options: LinkyOptions) -> bool:
        """When hourly data are imported."""
        return options.meter.hourly_history_months > 0

    def _window_start(self, today: date) -> date:
        return today - timedelta(days=PEAK_DAYS)

    async def _async_compute(self, today: date) -> None:
        """Over the 30 local days before today."""
        start, _ = local_day_bounds(today - timedelta(days=PEAK_DAYS))
        end, _ = local_day_bounds(today)
        rows = await self._async_read_hourly(
            statistic_id(self.pdl, SERIES_CONSUMPTION), start, end, "state"
        )
        hourly = complete_hourly_days(rows)
        self.typical = typical_peak_hours(hourly, today, days=PEAK_DAYS) if hourly else None
