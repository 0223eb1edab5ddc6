"""Deterministic synthetic ground truth: what each emulated meter really measured.

The truth is an integer number of Wh per 10-minute slot, generated per local (Europe/Paris)
day from a seed made of the PDL and the date: the same PDL and day always give the same
numbers, across runs and machines. Everything the API serves is derived from these slots:

- load curve of day D with step P (10, 30 or 60 minutes, fixed per PDL and day): one point
  per P minutes, W = (sum of the slots' Wh) x 60 / P, so W x P / 60 gives back the Wh exactly;
- daily energy of day D = sum of the day's slots (so it equals the summed curve);
- max power of day D: an integer VA >= the highest 10-minute average power of the day.

Publication follows Enedis's rhythm on the emulator's clock: day D appears at D+1 08:00 Paris,
a few days (about 1 in 40) only at D+3 08:00, and a few (about 1 in 150) never.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from hashlib import blake2b
import math
import random
from zoneinfo import ZoneInfo

from .meters import UNUSUAL_RATIO, Meter

PARIS = ZoneInfo("Europe/Paris")
SLOT = timedelta(minutes=10)
PUBLICATION_TIME = time(8, 0)
"""Local time at which a day's data are published (on D+1, or D+3 for a late day)."""
LATE_DELAY_DAYS = 3
MISSING_RATE = 1 / 150
LATE_RATE = 1 / 40
PV_PEAK_W = 3000.0
LATITUDE = math.radians(45.0)
SOLAR_NOON_UTC = 11.85  # hours, longitude of about 2.3 degrees east


def _seed(*parts: object) -> int:
    """A stable 64-bit seed from the parts (hashlib, not hash(): stable across runs)."""
    text = "|".join(str(part) for part in parts)
    return int.from_bytes(blake2b(text.encode(), digest_size=8).digest(), "big")


def _unit(*parts: object) -> float:
    """A stable number in [0, 1) from the parts."""
    return _seed(*parts) / 2**64


def local_midnight(day: date) -> datetime:
    """The instant (UTC) at which the local day starts."""
    return datetime.combine(day, time(), PARIS).astimezone(UTC)


def paris_label(instant: datetime) -> str:
    """The naive Europe/Paris label the API uses for an instant (`YYYY-MM-DD HH:MM:SS`)."""
    return instant.astimezone(PARIS).strftime("%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True, slots=True, eq=False)
class DayTruth:
    """The measured truth of one meter for one local day."""

    day: date
    start: datetime
    """UTC instant of the day's local midnight; slot k starts at start + k x 10 min."""
    consumption: array[int]
    """Wh drawn from the grid per 10-minute slot (138, 144 or 150 slots)."""
    production: array[int]
    """Wh injected into the grid per 10-minute slot."""
    step_minutes: int
    """Load-curve step the meter uses this day: 10, 30 or 60."""
    max_power_va: int
    max_power_at: datetime
    """When the max power occurred (aware, Europe/Paris), inside the day."""

    def slot_start(self, index: int) -> datetime:
        """UTC start of slot `index`."""
        return self.start + index * SLOT

    def slots(self, production: bool) -> array[int]:
        """The slots of one direction."""
        return self.production if production else self.consumption

    def curve(self, production: bool) -> list[tuple[datetime, int]]:
        """Load-curve points of the day: (interval END instant, average W), in time order."""
        per_point = self.step_minutes // 10
        values = self.slots(production)
        factor = 60 // self.step_minutes
        return [
            (self.slot_start(i + per_point), sum(values[i : i + per_point]) * factor)
            for i in range(0, len(values), per_point)
        ]


@dataclass(frozen=True, slots=True)
class _Weather:
    """Regional weather of one day (the same for every meter)."""

    temperature: float
    """Daily mean outdoor temperature, degrees C."""
    sunshine: float
    """Fraction of clear-sky PV output, 0.1 (overcast) to 1."""
    variable: bool
    """Broken clouds: PV output varies a lot from slot to slot."""


def _weather(day: date) -> _Weather:
    rng = random.Random(_seed("weather", day.isoformat()))  # noqa: S311 (simulation)
    ordinal = day.toordinal()
    doy = day.timetuple().tm_yday
    seasonal = 12.5 - 8.5 * math.cos(2 * math.pi * (doy - 20) / 365.25)
    spell = 2.5 * math.sin(2 * math.pi * ordinal / 9.3) + 1.5 * math.sin(ordinal / 3.77)
    temperature = seasonal + spell + rng.gauss(0, 1.2)
    roll = rng.random()
    if roll < 0.25:
        return _Weather(temperature, rng.uniform(0.1, 0.35), variable=False)
    if roll < 0.5:
        return _Weather(temperature, rng.uniform(0.5, 0.8), variable=True)
    return _Weather(temperature, rng.uniform(0.85, 1.0), variable=False)


def outdoor_temperature(day: date) -> float:
    """The daily mean outdoor temperature the emulator's households live in (degrees C)."""
    return _weather(day).temperature


def _heating_shape(hour: float, weekend: bool) -> float:
    """Relative heating power over the day: night setback, morning and evening comfort."""
    if hour < 6 or hour >= 23:
        return 0.75
    if hour < 9:
        return 1.35
    if hour < 17:
        return 1.0 if weekend else 0.7
    if hour < 22:
        return 1.3
    return 1.0


def _activity_w(hour: float, weekend: bool, wake: float, water_heater_end: float) -> float:
    """Appliances, cooking, lighting and the off-peak water heater, in W."""
    watts = 0.0
    if wake <= hour < wake + 1.5:
        watts += 900  # morning: breakfast, shower, kettle
    if weekend and 12 <= hour < 13.5:
        watts += 1100
    elif 12.25 <= hour < 13:
        watts += 250
    if 18 <= hour < 21:
        watts += 1300  # evening peak
    if 19 <= hour < 20:
        watts += 900  # cooking
    if 21 <= hour < 23:
        watts += 500
    if hour >= 23.5 or hour < water_heater_end:
        watts += 2200  # water heater on off-peak hours
    return watts


@dataclass(frozen=True, slots=True)
class _Sun:
    """Sun geometry of one day: sin(elevation) = a + b x cos(hour angle)."""

    a: float
    b: float

    @classmethod
    def of(cls, day: date) -> _Sun:
        doy = day.timetuple().tm_yday
        declination = math.radians(23.44) * math.sin(2 * math.pi * (284 + doy) / 365)
        return cls(
            math.sin(LATITUDE) * math.sin(declination),
            math.cos(LATITUDE) * math.cos(declination),
        )

    def pv_w(self, utc_hours: float, weather: _Weather, rng: random.Random) -> float:
        """PV output in W at `utc_hours` (hours since a UTC midnight)."""
        elevation = self.a + self.b * math.cos(math.radians(15 * (utc_hours - SOLAR_NOON_UTC)))
        if elevation <= 0:
            return 0.0
        cloud = weather.sunshine
        if weather.variable:
            cloud *= rng.uniform(0.4, 1.25)
        return PV_PEAK_W * math.pow(elevation, 1.2) * min(cloud, 1.0)


def _local_hours(start: datetime, count: int) -> list[float]:
    """Local (Europe/Paris) wall-clock hour of each slot start of a day starting at `start`."""
    first_offset = start.astimezone(PARIS).utcoffset()
    last_offset = (start + count * SLOT).astimezone(PARIS).utcoffset()
    if first_offset == last_offset:
        return [index / 6 for index in range(count)]
    result = []
    for index in range(count):
        local = (start + index * SLOT).astimezone(PARIS)
        result.append(local.hour + local.minute / 60)
    return result


def generate_day(meter: Meter, day: date) -> DayTruth:
    """Generate one local day of a meter (pure; deterministic)."""
    rng = random.Random(_seed(meter.pdl, meter.profile, "slots", day.isoformat()))  # noqa: S311
    weather = _weather(day)
    sun = _Sun.of(day) if meter.profile == "pv" else None
    weekend = day.weekday() >= 5
    heating_w_per_degree = {"heating": 170.0, "base": 20.0, "pv": 20.0}[meter.profile]
    heating_w = max(0.0, 16.5 - weather.temperature) * heating_w_per_degree
    wake = (8.5 if weekend else 6.5) + rng.uniform(-0.5, 0.5)
    water_heater_end = rng.uniform(0.5, 2.0)
    start = local_midnight(day)
    count = (local_midnight(day + timedelta(days=1)) - start) // SLOT
    utc_start_hours = start.hour + start.minute / 60 + 1 / 12  # middle of the first slot
    extra_w = meter.base_extra_w(day)
    ratio = UNUSUAL_RATIO if day in meter.unusual_days else 1.0
    consumption = array("l")
    production = array("l")
    for index, hour in enumerate(_local_hours(start, count)):
        load = 250 + heating_w * _heating_shape(hour, weekend)
        load += _activity_w(hour, weekend, wake, water_heater_end)
        load *= rng.uniform(0.85, 1.15) * ratio
        load += extra_w
        if rng.random() < 0.03:
            load += rng.uniform(1000, 2500)  # oven, kettle, washing machine
        load_wh = round(load / 6)
        pv_wh = 0 if sun is None else round(sun.pv_w(utc_start_hours + index / 6, weather, rng) / 6)
        consumption.append(max(0, load_wh - pv_wh))
        production.append(max(0, pv_wh - load_wh))
    step_roll = _unit(meter.pdl, "step", day.isoformat())
    step = 10 if step_roll < 0.12 else 60 if step_roll < 0.24 else 30
    peak_index = max(range(count), key=consumption.__getitem__)
    max_va = math.ceil(consumption[peak_index] * 6 * rng.uniform(1.1, 1.5)) + rng.randrange(50)
    max_at = (start + peak_index * SLOT + timedelta(seconds=rng.randrange(600))).astimezone(PARIS)
    return DayTruth(day, start, consumption, production, step, max_va, max_at)


class Truth:
    """Ground truth of every meter, with publication on the emulator's clock.

    Days are generated on first use and cached. Unknown PDLs raise `KeyError`.
    """

    def __init__(self, meters: Mapping[str, Meter], now: Callable[[], datetime]) -> None:
        self._meters = meters
        self._now = now
        self._cache: dict[tuple[str, str, date], DayTruth] = {}

    def day(self, pdl: str, day: date) -> DayTruth:
        """The full truth of one day, whether published or not."""
        meter = self._meters[pdl]
        key = (pdl, meter.profile, day)
        truth = self._cache.get(key)
        if truth is None:
            truth = self._cache[key] = generate_day(meter, day)
        return truth

    def step_minutes(self, pdl: str, day: date) -> int:
        """The load-curve step of that day (10, 30 or 60)."""
        return self.day(pdl, day).step_minutes

    def is_missing(self, pdl: str, day: date) -> bool:
        """Whether Enedis never publishes that day (daily and curve alike)."""
        return _unit(pdl, "publication", day.isoformat()) < MISSING_RATE

    def is_late(self, pdl: str, day: date) -> bool:
        """Whether that day is published at D+3 08:00 instead of D+1 08:00."""
        roll = _unit(pdl, "publication", day.isoformat())
        return MISSING_RATE <= roll < MISSING_RATE + LATE_RATE

    def published_at(self, pdl: str, day: date) -> datetime | None:
        """When the day's data appear (aware), or None if they never do."""
        if self.is_missing(pdl, day):
            return None
        delay = LATE_DELAY_DAYS if self.is_late(pdl, day) else 1
        return datetime.combine(day + timedelta(days=delay), PUBLICATION_TIME, PARIS)

    def is_published(self, pdl: str, day: date) -> bool:
        """Whether the day's data are available at the emulator's now."""
        meter = self._meters[pdl]
        if meter.activation_date is not None and day < meter.activation_date:
            return False
        published = self.published_at(pdl, day)
        return published is not None and published <= self._now()

    def late_days(self, pdl: str, start: date, end: date) -> list[date]:
        """Late days in [start, end)."""
        return [day for day in _days(start, end) if self.is_late(pdl, day)]

    def missing_days(self, pdl: str, start: date, end: date) -> list[date]:
        """Never-published days in [start, end)."""
        return [day for day in _days(start, end) if self.is_missing(pdl, day)]

    def measures(self, pdl: str, production: bool) -> bool:
        """Whether the meter records that direction at all."""
        meter = self._meters[pdl]
        return meter.production if production else meter.consumption

    def published_day(self, pdl: str, production: bool, day: date) -> DayTruth | None:
        """The day's truth if that direction is measured and published, else None."""
        if not self.measures(pdl, production) or not self.is_published(pdl, day):
            return None
        return self.day(pdl, day)

    def daily_wh(self, pdl: str, production: bool, day: date) -> int | None:
        """Energy of the local day in Wh; None if missing or not published yet."""
        truth = self.published_day(pdl, production, day)
        return None if truth is None else sum(truth.slots(production))

    def hourly_wh(
        self, pdl: str, production: bool, start: datetime, end: datetime
    ) -> dict[datetime, int]:
        """Wh per UTC hour start in [start, end), for published hours only (zeros included).

        Keys are aware UTC datetimes; each hour is whole (its six slots).
        """
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("start and end must be timezone-aware")
        result: dict[datetime, int] = {}
        first = start.astimezone(PARIS).date() - timedelta(days=1)
        for day in _days(first, end.astimezone(PARIS).date() + timedelta(days=1)):
            truth = self.published_day(pdl, production, day)
            if truth is None:
                continue
            slots = truth.slots(production)
            for index in range(0, len(slots), 6):  # local midnight is on a UTC hour
                hour = truth.slot_start(index)
                if start <= hour < end:
                    result[hour] = sum(slots[index : index + 6])
        return result

    def max_power(self, pdl: str, day: date) -> tuple[int, datetime] | None:
        """(VA, when) of the day's consumption max power; None if unpublished."""
        truth = self.published_day(pdl, False, day)
        return None if truth is None else (truth.max_power_va, truth.max_power_at)


def _days(start: date, end: date) -> list[date]:
    """Every day in [start, end)."""
    return [start + timedelta(days=offset) for offset in range((end - start).days)]
