"""Load-shift what-if: what the period would have cost with a block of energy moved into a
local wall-clock window, per tariff option. No Home Assistant import.

The history is modified hour by hour, then both versions go through `compare_tariffs` (so
the same hours, prices, subscriptions and Tempo colours apply); the saving of an option is
its total before minus its total after. Energy stays within its local day: each day's kWh is
unchanged, only its hours move.

- Target hours of a local day: its hours that lie entirely inside the window (an hour that
  the window only partly covers, e.g. 22:00-23:00 for a 22:30 start, is neither a target nor
  a source hour). The moved energy is spread evenly over the day's target hours that are in
  the history. Source hours: the day's hours entirely outside the window (or, with `source`,
  entirely inside `source` and not in the target).
- A block of kWh per day (`shift_daily_block`) is taken from the source hours pro rata of
  their consumption. A day with less energy in its source hours than the block moves what is
  there (the source hours become 0) and is listed in `short_days`; `moved_kwh` is below
  `requested_kwh` by that much. A day without any target hour in the history moves nothing
  and is listed in `skipped_days`.
- A recorded load (`shift_recorded_load`, Wh by UTC hour, e.g. a water heater) is removed
  from the source hours where it ran, capped at the house's consumption of that hour (a day
  where the cap bites is in `short_days`); its hours inside the window stay where they are.

Exactness: with a window made of whole off-peak hours and the source hours all peak hours,
shifting X kWh a day saves exactly X x (HP - HC) a day on HP/HC (the engine prices each
moved kWh once at HP, once at HC; nothing else changes).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
import math
from typing import Any

from ..energy.hourly import utc_hour
from ..energy.tariffs import ContractOption, OffPeakWindow
from ..localtime import PARIS, local_date
from .tariff_compare import OPTIONS, TariffComparison, TariffSetup, compare_tariffs

_EPSILON = 1e-9  # Wh: below this a day is not short


@dataclass(frozen=True, slots=True)
class ShiftedCost:
    """One option's total (EUR) without and with the shift; saving = before - after."""

    option: ContractOption
    before_eur: float
    after_eur: float

    @property
    def saving_eur(self) -> float:
        """What moving the block saves (negative: it costs more)."""
        return self.before_eur - self.after_eur


@dataclass(frozen=True, slots=True)
class LoadShift:
    """Result of a what-if (see the module docstring)."""

    window: OffPeakWindow
    requested_kwh: float
    moved_kwh: float
    short_days: tuple[date, ...]
    skipped_days: tuple[date, ...]
    options: Mapping[ContractOption, ShiftedCost]
    before: TariffComparison
    after: TariffComparison

    def as_dict(self) -> dict[str, Any]:
        """JSON form for action response data (money rounded to the cent)."""
        return {
            "window": self.window.as_text(),
            "requested_kwh": round(self.requested_kwh, 3),
            "moved_kwh": round(self.moved_kwh, 3),
            "short_days": [day.isoformat() for day in self.short_days],
            "skipped_days": [day.isoformat() for day in self.skipped_days],
            "options": {
                option.value: {
                    "before_eur": round(cost.before_eur, 2),
                    "after_eur": round(cost.after_eur, 2),
                    "saving_eur": round(cost.saving_eur, 2),
                }
                for option, cost in self.options.items()
            },
            "incomplete": self.before.incomplete,
            "first_day": None
            if self.before.first_day is None
            else self.before.first_day.isoformat(),
            "last_day": None if self.before.last_day is None else self.before.last_day.isoformat(),
        }


def shift_daily_block(
    hourly: Mapping[datetime, float],
    setup: TariffSetup,
    current: ContractOption,
    *,
    kwh_per_day: float,
    target: OffPeakWindow,
    source: OffPeakWindow | None = None,
) -> LoadShift:
    """Move `kwh_per_day` of every local day of `hourly` into `target`. Raises ValueError on
    a negative block or a bad hour key."""
    if not kwh_per_day >= 0:
        raise ValueError(f"the block must be a non-negative kWh, got {kwh_per_day}")
    block = kwh_per_day * 1000

    def take(day_rows: dict[datetime, float], sources: list[datetime]) -> tuple[float, float]:
        available = math.fsum(day_rows[h] for h in sources)
        taken = min(block, available)
        if available > 0:
            for h in sources:
                day_rows[h] -= taken * day_rows[h] / available
        return block, taken

    return _shift(hourly, setup, current, target=target, source=source, take=take)


def shift_recorded_load(
    hourly: Mapping[datetime, float],
    setup: TariffSetup,
    current: ContractOption,
    *,
    load: Mapping[datetime, float],
    target: OffPeakWindow,
) -> LoadShift:
    """Move a recorded load's energy outside `target` into `target`, day by day."""
    load_rows = {utc_hour(h): float(wh) for h, wh in load.items()}

    def take(day_rows: dict[datetime, float], sources: list[datetime]) -> tuple[float, float]:
        wanted = taken = 0.0
        for h in sources:
            wh = max(load_rows.get(h, 0.0), 0.0)
            moved = min(wh, day_rows[h])
            day_rows[h] -= moved
            wanted += wh
            taken += moved
        return wanted, taken

    return _shift(hourly, setup, current, target=target, source=None, take=take)


type _Take = Callable[[dict[datetime, float], list[datetime]], tuple[float, float]]
"""Removes a day's energy from its source hours: (wanted Wh, removed Wh)."""


def _shift(
    hourly: Mapping[datetime, float],
    setup: TariffSetup,
    current: ContractOption,
    *,
    target: OffPeakWindow,
    source: OffPeakWindow | None,
    take: _Take,
) -> LoadShift:
    rows = {utc_hour(h): float(wh) for h, wh in hourly.items()}
    by_day: defaultdict[date, dict[datetime, float]] = defaultdict(dict)
    for h, wh in sorted(rows.items()):
        by_day[local_date(h)][h] = wh
    shifted: dict[datetime, float] = {}
    wanted_total: list[float] = []
    moved_total: list[float] = []
    short: list[date] = []
    skipped: list[date] = []
    for day, day_rows in sorted(by_day.items()):
        targets = [h for h in day_rows if _inside(h, target)]
        if not targets:
            skipped.append(day)
            shifted.update(day_rows)
            continue
        sources = [
            h
            for h in day_rows
            if not _touches(h, target) and (source is None or _inside(h, source))
        ]
        wanted, moved = take(day_rows, sources)
        for h in targets:
            day_rows[h] += moved / len(targets)
        shifted.update(day_rows)
        wanted_total.append(wanted)
        moved_total.append(moved)
        if moved < wanted - _EPSILON:
            short.append(day)
    before = compare_tariffs(rows, setup, current)
    after = compare_tariffs(shifted, setup, current)
    return LoadShift(
        window=target,
        requested_kwh=math.fsum(wanted_total) / 1000,
        moved_kwh=math.fsum(moved_total) / 1000,
        short_days=tuple(short),
        skipped_days=tuple(skipped),
        options={
            option: ShiftedCost(
                option, before.options[option].total_eur, after.options[option].total_eur
            )
            for option in OPTIONS
        },
        before=before,
        after=after,
    )


def _minutes(hour: datetime) -> tuple[int, int]:
    """The local wall-clock minutes [start, end) of a UTC hour (end 1440 for 23:00)."""
    local = hour.astimezone(PARIS)
    start = local.hour * 60 + local.minute
    return start, start + 60


def _inside(hour: datetime, window: OffPeakWindow) -> bool:
    """Whether the whole hour lies in the window."""
    start, end = _minutes(hour)
    return any(a <= start and end <= b for a, b in window.minute_ranges())


def _touches(hour: datetime, window: OffPeakWindow) -> bool:
    """Whether any minute of the hour lies in the window."""
    start, end = _minutes(hour)
    return any(a < end and start < b for a, b in window.minute_ranges())
