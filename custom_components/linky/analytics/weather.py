"""Outdoor temperature by local day, for the weather-aware insights. No Home Assistant import.

The daily mean of a local day (Europe/Paris, 23, 24 or 25 hours) is the mean of the hourly
means of its hours (the recorder's long-term statistics of the temperature sensor). A day
with fewer than 75 % of its hours known has no mean: a sensor that was offline half the day
would give the temperature of the hours it was up, not of the day.

Without such a sensor history (a new installation has years of Linky data but no
temperature), a file of daily means can be imported: `parse_temperature_csv` reads a simple
`date,temperature` CSV or Météo-France's daily climatological files (meteo.data.gouv.fr,
"Données climatologiques de base - quotidiennes", one file per département).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
import math
from typing import Final

from ..energy.hourly import day_hours
from ..localtime import local_date

MIN_HOURS_SHARE: Final = 0.75


def daily_means(hourly: Mapping[datetime, float]) -> dict[date, float]:
    """The daily mean temperature of every local day that has enough hourly means."""
    per_day: dict[date, list[float]] = {}
    for start, value in hourly.items():
        if math.isfinite(value):
            per_day.setdefault(local_date(start), []).append(value)
    return {
        day: math.fsum(values) / len(values)
        for day, values in sorted(per_day.items())
        if len(values) >= MIN_HOURS_SHARE * len(day_hours(day))
    }


# --- daily temperature files ------------------------------------------------------------------

DATE_COLUMNS: Final = ("date", "day", "jour", "aaaammjj")
"""Column names read as the day (any letter case)."""
MEAN_COLUMNS: Final = ("temperature", "temp", "tm", "tntxm", "tmoy", "mean")
"""Column names read as the daily mean (°C), in this order of preference: Météo-France's
TM is the mean of the day's hourly temperatures, like the daily mean of a sensor."""
STATION_COLUMN: Final = "num_poste"
MIN_CELSIUS: Final = -60.0
MAX_CELSIUS: Final = 60.0


class TemperatureFileError(ValueError):
    """A temperature file that cannot be read; `reason` names why (a translation key)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class TemperatureFile:
    """The daily mean temperatures read from a file, and the rows left out."""

    days: dict[date, float]
    skipped: int
    station: str | None


def parse_temperature_csv(text: str, station: str | None = None) -> TemperatureFile:
    """Daily mean temperatures from a CSV text: a `date` and a `temperature` column (ISO
    dates, YYYYMMDD or DD/MM/YYYY; ',' or ';' between fields; a decimal comma accepted with
    ';'), or Météo-France's daily climatological files (columns NUM_POSTE, AAAAMMJJ and TM,
    else TNTXM, else the mean of TN and TX), whose rows of several stations need `station`
    (NUM_POSTE). A row without a usable day or value, or beyond -60..60 °C, is skipped."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise TemperatureFileError("empty_file")
    separator = ";" if lines[0].count(";") >= lines[0].count(",") else ","
    header = [name.strip().strip('"').lower() for name in lines[0].split(separator)]
    day_at = _column(header, DATE_COLUMNS)
    value_at = _column(header, MEAN_COLUMNS)
    low_high = (_column(header, ("tn",)), _column(header, ("tx",)))
    if day_at is None or (value_at is None and None in low_high):
        raise TemperatureFileError("unknown_columns", ", ".join(header[:12]))
    rows = [[cell.strip().strip('"') for cell in line.split(separator)] for line in lines[1:]]
    station_at = _column(header, (STATION_COLUMN,))
    if station_at is not None:
        rows, station = _one_station(rows, station_at, station)
    days: dict[date, float] = {}
    skipped = 0
    for row in rows:
        day = _day(row[day_at]) if day_at < len(row) else None
        value = _mean(row, value_at, low_high, decimal_comma=separator == ";")
        if day is None or value is None:
            skipped += 1
        else:
            days[day] = value
    if not days:
        raise TemperatureFileError("no_rows")
    return TemperatureFile(days, skipped, station)


def _column(header: list[str], names: tuple[str, ...]) -> int | None:
    for name in names:
        if name in header:
            return header.index(name)
    return None


def _one_station(
    rows: list[list[str]], at: int, station: str | None
) -> tuple[list[list[str]], str | None]:
    """The rows of `station`, or of the only station in the file."""
    stations = sorted({row[at] for row in rows if at < len(row)})
    if station is None:
        if len(stations) > 1:
            shown = ", ".join(stations[:20]) + (", ..." if len(stations) > 20 else "")
            raise TemperatureFileError("several_stations", shown)
        return rows, stations[0] if stations else None
    wanted = station.strip()
    kept = [row for row in rows if at < len(row) and row[at] == wanted]
    if not kept:
        raise TemperatureFileError("unknown_station", wanted)
    return kept, wanted


def _day(text: str) -> date | None:
    try:
        if len(text) == 8 and text.isdigit():
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        if len(text) == 10 and text[2] == "/" and text[5] == "/":
            return date(int(text[6:]), int(text[3:5]), int(text[:2]))
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def _mean(
    row: list[str],
    value_at: int | None,
    low_high: tuple[int | None, int | None],
    *,
    decimal_comma: bool,
) -> float | None:
    def number(at: int | None) -> float | None:
        if at is None or at >= len(row) or not row[at]:
            return None
        try:
            value = float(row[at].replace(",", ".") if decimal_comma else row[at])
        except ValueError:
            return None
        return value if math.isfinite(value) and MIN_CELSIUS <= value <= MAX_CELSIUS else None

    if (value := number(value_at)) is not None:
        return value
    low, high = number(low_high[0]), number(low_high[1])
    return None if low is None or high is None else (low + high) / 2
