"""Synthetic households with a known truth, for measuring what the insights detect.

`generate(seed)` makes two years of half-hour consumption of one household, on real
instants (the DST days have 46 and 50 half-hours), aggregated to Wh per UTC hour as the
integration stores them, with the daily mean outdoor temperature a sensor would give:

- a base load that is always on, with a small night-to-night jitter, and now and then a
  device left on for one night (a computer, a dehumidifier);
- a fridge's compressor cycles (a bit more when it is warm);
- occupancy: wake-up, meals, evenings, days out at work, a day-to-day activity factor,
  appliances (washing machine, dishwasher, oven, tumble dryer; some households delay them
  to the off-peak hours), kettles and the like, and one or two holidays away;
- an electric water heater for most households, started by the off-peak contact (22:00 to
  23:30, or 00:30 or 02:00 for some), running until the day's hot water is reheated;
- electric heating for some households, following the generated outdoor temperature
  (degree-days below a balance temperature, a night setback, a day-to-day factor: wind,
  sun, setpoints), reduced to frost protection when away;
- measurement-scale noise on every half-hour.

Known events can be injected: a step of the base load (a new appliance left on), a slow
drift of it (a failing fridge), unusual days (a heater left on, guests: every half-hour of
the day x a ratio), a cold snap. The random draws do not depend on the events: the same
seed with and without an event gives the same household, the event apart.

Deterministic for a seed; no Home Assistant import.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
import math
import random

from .truth import PARIS

HALF_HOUR = timedelta(minutes=30)
type _Block = tuple[float, float, float]  # local hours [start, end) and W


@dataclass(frozen=True, slots=True)
class Events:
    """What to inject (None / empty: nothing)."""

    step_from: date | None = None
    step_ratio: float = 1.4  # base load x this from `step_from` on
    drift_from: date | None = None
    drift_w_per_day: float = 1.0
    unusual_days: tuple[date, ...] = ()
    unusual_ratio: float = 1.5  # every half-hour of those days x this
    unusual_ratios: tuple[float, ...] = ()
    """One ratio per unusual day (in the same order); empty: `unusual_ratio` for all."""
    cold_snap: tuple[date, date] | None = None  # [start, end): 9 degrees colder
    cold_snap_delta: float = -9.0

    def ratio(self, day: date) -> float:
        """What every half-hour of `day` is multiplied by (1 on an ordinary day)."""
        if day not in self.unusual_days:
            return 1.0
        if not self.unusual_ratios:
            return self.unusual_ratio
        return self.unusual_ratios[self.unusual_days.index(day)]


@dataclass(frozen=True, slots=True)
class Profile:
    """What a household is made of (drawn from the seed)."""

    heat_w_per_degree: float  # 0: no electric heating
    balance: float  # outdoor temperature (°C) below which heating starts
    fridge_w: float  # the compressor's mean over a cycle
    occupancy: float  # how much the household uses appliances
    out_share: float  # share of weekdays spent out (work, school)
    water_heater_w: float  # 0: no electric water heater
    water_heater_start: float  # local hour the off-peak contact closes
    hot_water_kwh: float  # mean daily reheat when at home
    delays_appliances: bool  # starts the dishwasher and washing machine off-peak
    dryer: bool


@dataclass(slots=True)
class Household:
    """A generated household: its hours, its days' temperatures and what was injected."""

    seed: int
    start: date
    end: date
    heating: bool
    base_w: float
    hourly_wh: dict[datetime, float] = field(default_factory=dict)
    temperature: dict[date, float] = field(default_factory=dict)
    events: Events = field(default_factory=Events)
    away: set[date] = field(default_factory=set)
    """Days nobody was home (a holiday the user could flag)."""
    profile: Profile | None = None

    def days(self) -> list[date]:
        """Every local day, oldest first."""
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days)]

    def daily_kwh(self) -> dict[date, float]:
        """The kWh of every local day (the sum of its UTC hours)."""
        totals: dict[date, float] = {}
        for hour, wh in self.hourly_wh.items():
            day = hour.astimezone(PARIS).date()
            totals[day] = totals.get(day, 0.0) + wh / 1000
        return totals


def _temperature(rng: random.Random, day: date, offsets: list[float], first: date) -> float:
    """Daily mean outdoor temperature: seasons, weather spells (an autoregressive part),
    and daily noise."""
    doy = day.timetuple().tm_yday
    seasonal = 12.0 - 8.0 * math.cos(2 * math.pi * (doy - 20) / 365.25)
    return seasonal + offsets[(day - first).days] + rng.gauss(0, 0.8)


def _spells(rng: random.Random, count: int) -> list[float]:
    """Weather spells: a slow autoregressive offset (days of cold or mild weather)."""
    values, current = [], 0.0
    for _ in range(count):
        current = 0.85 * current + rng.gauss(0, 1.3)
        values.append(current)
    return values


def _half_hours(day: date) -> list[datetime]:
    """UTC starts of the local day's half-hours (46, 48 or 50)."""
    start = datetime.combine(day, datetime.min.time(), PARIS).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), PARIS).astimezone(UTC)
    return [start + n * HALF_HOUR for n in range((end - start) // HALF_HOUR)]


def _profile(rng: random.Random, heated: bool) -> Profile:
    electric_water = rng.random() < 0.8
    return Profile(
        heat_w_per_degree=rng.uniform(120, 260) if heated else 0.0,
        balance=rng.uniform(15.0, 17.5),
        fridge_w=rng.uniform(35, 70),
        occupancy=rng.uniform(0.6, 1.4),
        out_share=rng.uniform(0.5, 0.9),
        water_heater_w=rng.uniform(2000, 3000) if electric_water else 0.0,
        water_heater_start=rng.choices([22.0, 22.5, 23.0, 23.5, 0.5, 2.0], [3, 1, 3, 1, 1, 1])[0],
        hot_water_kwh=rng.uniform(1.5, 4.0),
        delays_appliances=rng.random() < 0.35,
        dryer=rng.random() < 0.4,
    )


def generate(
    seed: int,
    start: date = date(2024, 10, 1),
    days: int = 730,
    *,
    heating: bool | None = None,
    events: Events | None = None,
) -> Household:
    """Two years (by default) of one household; `heating` None draws it from the seed."""
    rng = random.Random(seed)  # noqa: S311 (simulation)
    heated = rng.random() < 0.5 if heating is None else heating
    household = Household(
        seed=seed,
        start=start,
        end=start + timedelta(days=days),
        heating=heated,
        base_w=rng.uniform(60, 250),
        events=events or Events(),
        profile=_profile(rng, heated),
    )
    spells = _spells(rng, days)
    household.away = _holidays(rng, start, days)
    events = household.events
    carry = 0.0  # hours the water heater still runs after midnight
    for day in household.days():
        temperature = _temperature(rng, day, spells, start)
        if events.cold_snap is not None and events.cold_snap[0] <= day < events.cold_snap[1]:
            temperature += events.cold_snap_delta
        household.temperature[day] = temperature
        carry = _one_day(household, rng, day, temperature, carry)
    return household


def _holidays(rng: random.Random, start: date, days: int) -> set[date]:
    """One holiday of 5 to 11 days, and a second one in half of the households (not in the
    first 60 days nor the last 30 of a long enough span)."""
    away: set[date] = set()
    low, high = (60, days - 30) if days > 120 else (0, days)
    for count in range(2):
        first = start + timedelta(days=rng.randrange(low, high))
        length = rng.randrange(5, 12)
        if count == 0 or rng.random() < 0.5:
            away.update(first + timedelta(days=n) for n in range(length))
    return away


def _base(household: Household, day: date) -> float:
    events = household.events
    base = household.base_w
    if events.step_from is not None and day >= events.step_from:
        base *= events.step_ratio
    if events.drift_from is not None and day >= events.drift_from:
        base += events.drift_w_per_day * (day - events.drift_from).days
    return base


def _activity_blocks(
    profile: Profile, rng: random.Random, day: date, activity: float, out: bool
) -> list[_Block]:
    """The day's occupancy loads: wake-up, meals, evening, appliances (local hours)."""
    weekend = day.weekday() >= 5
    wake = (8.5 if weekend else 6.8) + rng.uniform(-0.7, 0.7)
    use = profile.occupancy * activity
    blocks: list[_Block] = [
        (wake, wake + 1.5, 500 * use),
        (18.5 + rng.uniform(-0.5, 0.5), 22.5 + rng.uniform(-0.5, 0.7), 400 * use),
        (19.0, 20.0, 600 * use),  # cooking
    ]
    if weekend or not out:
        blocks.append((12.0, 13.5, 500 * use))
        blocks.append((9.0, 18.0, 100 * use))  # lights, computer, TV during the day
    later = profile.water_heater_start if profile.delays_appliances else None
    for chance, kwh, hours, usual in (
        (0.40 * use, 1.0, 2.0, 14.0),  # washing machine
        (0.55 * use, 1.2, 2.0, 21.0),  # dishwasher
        (0.25 * use, 1.2, 1.0, 19.0),  # oven
    ):
        if rng.random() < chance:
            delayed = later is not None and usual != 19.0  # never the oven
            begin = later if delayed and later is not None else usual + rng.uniform(-1.0, 1.0)
            blocks.append((begin, begin + hours, 1000 * kwh / hours))
    if profile.dryer and rng.random() < 0.25 * use:
        begin = rng.uniform(10, 21)
        blocks.append((begin, begin + 1.5, 1700))
    return blocks


def _one_day(
    household: Household, rng: random.Random, day: date, temperature: float, carry: float
) -> float:
    """Adds the day's half-hours to the household's hours; returns the water heater's hours
    left after midnight."""
    profile = household.profile
    assert profile is not None
    away = day in household.away
    out = not away and day.weekday() < 5 and rng.random() < profile.out_share
    activity = rng.lognormvariate(0, 0.15)
    base = _base(household, day) * (1 + rng.gauss(0, 0.02))
    fridge_w = profile.fridge_w * (1 + 0.012 * (temperature - 12))
    heating_w = profile.heat_w_per_degree * max(0.0, profile.balance - temperature)
    heating_w *= rng.lognormvariate(0, 0.07)
    blocks: list[_Block] = [] if away else _activity_blocks(profile, rng, day, activity, out)
    if rng.random() < 0.05:  # a device left on for one night
        blocks.append((0.0, 7.0, rng.uniform(30, 120)))
    if carry:
        blocks.append((0.0, carry, profile.water_heater_w))
    carry = 0.0
    if profile.water_heater_w:
        kwh = 1.2 + (0.0 if away else profile.hot_water_kwh * activity)
        hours = kwh * 1000 / profile.water_heater_w * rng.lognormvariate(0, 0.2)
        start = profile.water_heater_start
        blocks.append((start, min(24.0, start + hours), profile.water_heater_w))
        carry = max(0.0, start + hours - 24.0)
    ratio = household.events.ratio(day)
    phase = rng.uniform(0, 45)
    starts = _half_hours(day)
    for index, begin in enumerate(starts):
        if len(starts) == 48:
            hour = index / 2
        else:  # a DST day: the local clock jumps
            local = begin.astimezone(PARIS)
            hour = local.hour + local.minute / 60
        watts = base + 3 * fridge_w * _on_share(hour * 60 + phase)
        for low, high, power in blocks:
            overlap = min(high, hour + 0.5) - max(low, hour)
            if overlap > 0:
                watts += power * overlap * 2
        if heating_w:
            setback = 0.75 if (hour < 6 or hour >= 23) else 1.0
            if away:
                setback = 0.45  # frost protection only
            elif out and 9 <= hour < 17:
                setback = 0.7
            watts += heating_w * setback * (1 + 0.15 * math.sin(hour / 24 * 2 * math.pi))
        watts *= rng.uniform(0.95, 1.05)
        if not away and 7 <= hour < 23 and rng.random() < 0.03:
            watts += rng.uniform(500, 2000)  # kettle, hair dryer, vacuum cleaner
        watts *= ratio
        hour_start = begin.replace(minute=0)
        household.hourly_wh[hour_start] = household.hourly_wh.get(hour_start, 0.0) + watts / 2
    return carry


def _on_share(minute: float) -> float:
    """Share of the half-hour from `minute` during which a compressor that runs 15 minutes
    in every 45 is on."""
    on = 0.0
    for cycle in range(int(minute // 45) - 1, int((minute + 30) // 45) + 1):
        low, high = max(minute, cycle * 45.0), min(minute + 30, cycle * 45.0 + 15)
        on += max(0.0, high - low)
    return on / 30


def night_truth(household: Household, days: Iterable[date]) -> dict[date, float]:
    """The true base load (W) of each night: what a baseload detector should follow."""
    return {day: _base(household, day) for day in days}
