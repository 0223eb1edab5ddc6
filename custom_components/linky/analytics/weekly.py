"""The weekly report of issue 11 (Insights): one ISO week of one or several meters, computed
only from what is stored. No Home Assistant import.

- `IsoWeek` (`isoweek`): an ISO week of Europe/Paris days, Monday 00:00 to Monday 00:00.
- `build_meter_week`: a meter's figures from its stored series (Wh for energies, EUR for
  money, rows keyed by UTC hour start; a day stored DAILY is one row at its local midnight).
  Each total is the exact sum (`math.fsum`) of the rows within the week's bounds; rows
  outside them are ignored. Figures keep full precision; `as_dict` rounds to 3 decimals.
- Changes (`Change`) compare the week with the previous one and with the same ISO week one
  ISO year before; a change exists only when both weeks are complete (every day stored).
- Weather correction: with `expected_kwh(day)` (what the household takes on `day` given its
  weather), `weather_kwh = sum(expected over the week's days) - sum(expected over the
  reference week's days)` is the part of the change the weather explains, and the
  weather-corrected change is `delta_kwh - weather_kwh` (as a share of the reference week's
  consumption). It is None when a day of either week has no expected value.
- `WeeklyReport`: the week and its meters; `total` sums them (a multi-site report) and
  compares the sums.

The texts are in `report_text` (`render`, `finding_text`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
import math
import statistics
from types import MappingProxyType
from typing import Any, Final

from ..conso.models import MaxPower
from ..energy.costs import SERIES_COST, SERIES_FIXED, SERIES_REVENUE, bucket_series
from ..energy.tariffs import Bucket
from ..localtime import parse_instant
from .anomalies import Finding
from .isoweek import IsoWeek

__all__ = [
    "Change",
    "ExpectedKwh",
    "IsoWeek",
    "MeterWeek",
    "Rows",
    "WeekFigures",
    "WeekTotal",
    "WeeklyReport",
    "build_meter_week",
    "total_of",
]

SERIES_CONSUMPTION: Final = "consumption"
SERIES_PRODUCTION: Final = "production"
SERIES_SELF_CONSUMPTION: Final = "self_consumption"
SPLIT_BUCKETS: Final[tuple[Bucket, ...]] = tuple(b for b in Bucket if b is not Bucket.BASE)
"""The buckets of a split, in display order (HP/HC, then the Tempo colours)."""

type Rows = Mapping[str, Mapping[datetime, float]]
type ExpectedKwh = Callable[[date], float | None] | Mapping[date, float]
"""What a day is expected to take (kWh) given its weather; None or missing: not known."""

_NO_POWER: Final[Mapping[date, tuple[int, datetime]]] = MappingProxyType({})
_NO_BASELOAD: Final[Mapping[date, float]] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Change:
    """A week's consumption against a reference week's (`week`), in kWh.

    `weather_kwh`: how much of `delta_kwh` the weather explains (expected kWh of the week
    minus expected kWh of the reference week), None without a weather model.
    """

    week: IsoWeek
    reference_kwh: float
    delta_kwh: float
    weather_kwh: float | None = None

    @property
    def percent(self) -> float | None:
        """The change in % of the reference (None when the reference is not positive)."""
        return _percent(self.delta_kwh, self.reference_kwh)

    @property
    def corrected_kwh(self) -> float | None:
        """The weather-corrected change: what the weather does not explain."""
        return None if self.weather_kwh is None else self.delta_kwh - self.weather_kwh

    @property
    def corrected_percent(self) -> float | None:
        """`corrected_kwh` in % of the reference."""
        corrected = self.corrected_kwh
        return None if corrected is None else _percent(corrected, self.reference_kwh)

    def as_dict(self) -> dict[str, Any]:
        """JSON form (the percentages are derived and rounded to 0.1)."""
        return {
            "week": str(self.week),
            "reference_kwh": _r3(self.reference_kwh),
            "delta_kwh": _r3(self.delta_kwh),
            "percent": _r(self.percent, 1),
            "weather_kwh": _r(self.weather_kwh, 3),
            "corrected_kwh": _r(self.corrected_kwh, 3),
            "corrected_percent": _r(self.corrected_percent, 1),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Change:
        """Inverse of `as_dict` (raises KeyError/ValueError/TypeError)."""
        return cls(
            IsoWeek.parse(data["week"]),
            float(data["reference_kwh"]),
            float(data["delta_kwh"]),
            _opt_float(data.get("weather_kwh")),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class WeekFigures:
    """What a week took and cost (one meter or the sum of several).

    `cost_eur`: consumption_cost + fixed_cost (None without a tariff). `split_kwh`: kWh per
    HP/HC or Tempo bucket (empty without such a contract; days stored DAILY have no split).
    Production, self-consumption and revenue are None when not stored.
    """

    week: IsoWeek
    consumption_kwh: float
    cost_eur: float | None = None
    split_kwh: Mapping[Bucket, float] = field(default_factory=dict)
    production_kwh: float | None = None
    self_consumption_kwh: float | None = None
    revenue_eur: float | None = None
    vs_previous: Change | None = None
    vs_year_before: Change | None = None

    def _figures_dict(self) -> dict[str, Any]:
        return {
            "week": str(self.week),
            "consumption_kwh": _r3(self.consumption_kwh),
            "cost_eur": _r(self.cost_eur, 3),
            "split_kwh": {b.value: _r3(kwh) for b, kwh in self.split_kwh.items()},
            "production_kwh": _r(self.production_kwh, 3),
            "self_consumption_kwh": _r(self.self_consumption_kwh, 3),
            "revenue_eur": _r(self.revenue_eur, 3),
            "vs_previous": None if self.vs_previous is None else self.vs_previous.as_dict(),
            "vs_year_before": (
                None if self.vs_year_before is None else self.vs_year_before.as_dict()
            ),
        }


def _figures_args(data: Mapping[str, Any]) -> dict[str, Any]:
    """The `WeekFigures` keyword arguments of an `as_dict` form."""
    return {
        "week": IsoWeek.parse(data["week"]),
        "consumption_kwh": float(data["consumption_kwh"]),
        "cost_eur": _opt_float(data.get("cost_eur")),
        "split_kwh": {Bucket(b): float(kwh) for b, kwh in (data.get("split_kwh") or {}).items()},
        "production_kwh": _opt_float(data.get("production_kwh")),
        "self_consumption_kwh": _opt_float(data.get("self_consumption_kwh")),
        "revenue_eur": _opt_float(data.get("revenue_eur")),
        "vs_previous": _opt_change(data.get("vs_previous")),
        "vs_year_before": _opt_change(data.get("vs_year_before")),
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class MeterWeek(WeekFigures):
    """One meter's week: its figures, its max power (day, VA, when), the median of its
    nights' base load (W), its findings and the days without stored consumption."""

    pdl: str
    max_power: MaxPower | None = None
    baseload_w: float | None = None
    findings: tuple[Finding, ...] = ()
    missing_days: tuple[date, ...] = ()

    @property
    def complete(self) -> bool:
        """Whether every day of the week has stored consumption."""
        return not self.missing_days

    def as_dict(self) -> dict[str, Any]:
        """JSON form (event data, storage); numbers rounded to 3 decimals."""
        power = self.max_power
        return {
            "pdl": self.pdl,
            **self._figures_dict(),
            "max_power": None
            if power is None
            else {"day": power.day.isoformat(), "va": power.va, "at": power.at.isoformat()},
            "baseload_w": _r(self.baseload_w, 3),
            "findings": [finding.as_dict() for finding in self.findings],
            "complete": self.complete,
            "missing_days": [day.isoformat() for day in self.missing_days],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MeterWeek:
        """Inverse of `as_dict` (raises KeyError/ValueError/TypeError)."""
        power = data.get("max_power")
        return cls(
            pdl=str(data["pdl"]),
            **_figures_args(data),
            max_power=None
            if power is None
            else MaxPower(
                date.fromisoformat(power["day"]), int(power["va"]), parse_instant(power["at"])
            ),
            baseload_w=_opt_float(data.get("baseload_w")),
            findings=tuple(Finding.from_dict(item) for item in data.get("findings") or ()),
            missing_days=tuple(date.fromisoformat(d) for d in data.get("missing_days") or ()),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class WeekTotal(WeekFigures):
    """The sum of several meters' weeks. `cost_eur` only when every meter has one, the split
    only when every meter has one; production, self-consumption and revenue sum the meters
    that have them. Changes compare the sums, only when every meter has that change."""

    meters: int
    incomplete: tuple[str, ...] = ()
    """The meters (PDL) whose week is incomplete."""

    @property
    def complete(self) -> bool:
        """Whether every meter's week is complete."""
        return not self.incomplete

    def as_dict(self) -> dict[str, Any]:
        """JSON form (derived from the meters: not read back)."""
        return {
            **self._figures_dict(),
            "meters": self.meters,
            "complete": self.complete,
            "incomplete": list(self.incomplete),
        }


@dataclass(frozen=True, slots=True)
class WeeklyReport:
    """One ISO week of one or several meters (a multi-site report)."""

    week: IsoWeek
    meters: tuple[MeterWeek, ...]

    def __post_init__(self) -> None:
        for meter in self.meters:
            if meter.week != self.week:
                raise ValueError(f"meter {meter.pdl} is about {meter.week}, not {self.week}")

    @property
    def total(self) -> WeekTotal:
        """The sums across meters and the changes of the sums."""
        return total_of(self.week, self.meters)

    def as_dict(self) -> dict[str, Any]:
        """JSON form (event data, storage); `total` is included for readers, derived again
        by `from_dict`."""
        return {
            "week": str(self.week),
            "meters": [meter.as_dict() for meter in self.meters],
            "total": self.total.as_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WeeklyReport:
        """Inverse of `as_dict` (raises KeyError/ValueError/TypeError)."""
        return cls(
            IsoWeek.parse(data["week"]),
            tuple(MeterWeek.from_dict(item) for item in data["meters"]),
        )


# --- computation ----------------------------------------------------------------------------


def build_meter_week(
    pdl: str,
    week: IsoWeek,
    rows: Rows,
    *,
    days_present: Collection[date],
    max_power: Mapping[date, tuple[int, datetime]] = _NO_POWER,
    baseloads: Mapping[date, float] = _NO_BASELOAD,
    findings: Iterable[Finding] = (),
    previous: MeterWeek | None = None,
    year_before: MeterWeek | None = None,
    expected_kwh: ExpectedKwh | None = None,
) -> MeterWeek:
    """A meter's week from its stored rows (`rows[series][utc hour start]`, Wh or EUR; any
    rows outside the week are ignored), the days with stored consumption, the days' max
    power (VA, when), the nights' base load (W), the findings (those of the week's days are
    kept), and the meter's previous week and the week one year before (None: not known).

    Raises ValueError on a naive row key or a reference week that is not `week.previous()`
    / `week.year_before()` of the same meter.
    """
    for reference, wanted in ((previous, week.previous()), (year_before, week.year_before())):
        if reference is not None and (reference.week != wanted or reference.pdl != pdl):
            raise ValueError(f"expected {pdl} {wanted}, got {reference.pdl} {reference.week}")
    start, end = week.bounds()
    sums = {name: _sum_within(series, start, end) for name, series in rows.items()}

    def kwh(name: str) -> float | None:
        value = sums.get(name)
        return None if value is None else value / 1000

    costs = [v for name in (SERIES_COST, SERIES_FIXED) if (v := sums.get(name)) is not None]
    split = {b: v for b in SPLIT_BUCKETS if (v := kwh(bucket_series(b))) is not None}
    days = week.days()
    missing = tuple(day for day in days if day not in days_present)
    consumption = kwh(SERIES_CONSUMPTION) or 0.0
    nights = [baseloads[day] for day in days if day in baseloads]
    week_findings = sorted(
        (f for f in findings if f.day in days), key=lambda f: (f.day, f.kind, f.limit or "")
    )
    return MeterWeek(
        pdl=pdl,
        week=week,
        consumption_kwh=consumption,
        cost_eur=math.fsum(costs) if costs else None,
        split_kwh=split,
        production_kwh=kwh(SERIES_PRODUCTION),
        self_consumption_kwh=kwh(SERIES_SELF_CONSUMPTION),
        revenue_eur=sums.get(SERIES_REVENUE),
        vs_previous=_change(week, consumption, not missing, previous, expected_kwh),
        vs_year_before=_change(week, consumption, not missing, year_before, expected_kwh),
        max_power=_week_max_power(days, max_power),
        baseload_w=statistics.median(nights) if nights else None,
        findings=tuple(week_findings),
        missing_days=missing,
    )


def total_of(week: IsoWeek, meters: Sequence[MeterWeek]) -> WeekTotal:
    """The sum of `meters`' weeks (see `WeekTotal`)."""

    def optional_sum(values: Iterable[float | None], every: bool) -> float | None:
        present = [v for v in values if v is not None]
        if not present or (every and len(present) < len(meters)):
            return None
        return math.fsum(present)

    consumption = math.fsum(m.consumption_kwh for m in meters)
    split: dict[Bucket, float] = {}
    if meters and all(m.split_kwh for m in meters):
        for bucket in SPLIT_BUCKETS:
            values = [m.split_kwh[bucket] for m in meters if bucket in m.split_kwh]
            if values:
                split[bucket] = math.fsum(values)
    return WeekTotal(
        week=week,
        consumption_kwh=consumption,
        cost_eur=optional_sum((m.cost_eur for m in meters), every=True),
        split_kwh=split,
        production_kwh=optional_sum((m.production_kwh for m in meters), every=False),
        self_consumption_kwh=optional_sum((m.self_consumption_kwh for m in meters), every=False),
        revenue_eur=optional_sum((m.revenue_eur for m in meters), every=False),
        vs_previous=_sum_changes(consumption, [m.vs_previous for m in meters]),
        vs_year_before=_sum_changes(consumption, [m.vs_year_before for m in meters]),
        meters=len(meters),
        incomplete=tuple(m.pdl for m in meters if not m.complete),
    )


def _sum_within(series: Mapping[datetime, float], start: datetime, end: datetime) -> float | None:
    """The exact sum of the rows in [start, end) (compared in UTC), None when there is none."""
    values = []
    for hour, value in series.items():
        if hour.tzinfo is None:
            raise ValueError(f"naive row key {hour}")
        if start <= hour.astimezone(UTC) < end:
            values.append(value)
    return math.fsum(values) if values else None


def _expected_week(expected: ExpectedKwh, week: IsoWeek) -> float | None:
    """The expected kWh of the week's days, None when a day has none."""
    values = []
    for day in week.days():
        value = expected.get(day) if isinstance(expected, Mapping) else expected(day)
        if value is None:
            return None
        values.append(value)
    return math.fsum(values)


def _change(
    week: IsoWeek,
    consumption: float,
    complete: bool,
    reference: MeterWeek | None,
    expected: ExpectedKwh | None,
) -> Change | None:
    """The change against `reference`, None unless both weeks are complete."""
    if reference is None or not complete or not reference.complete:
        return None
    weather = None
    if expected is not None:
        mine, theirs = _expected_week(expected, week), _expected_week(expected, reference.week)
        if mine is not None and theirs is not None:
            weather = mine - theirs
    return Change(
        reference.week,
        reference.consumption_kwh,
        consumption - reference.consumption_kwh,
        weather,
    )


def _sum_changes(consumption: float, changes: Sequence[Change | None]) -> Change | None:
    """The change of a sum: None unless every part has it (all against the same week)."""
    present = [c for c in changes if c is not None]
    if not present or len(present) < len(changes) or len({c.week for c in present}) != 1:
        return None
    reference = math.fsum(c.reference_kwh for c in present)
    weathers = [c.weather_kwh for c in present if c.weather_kwh is not None]
    return Change(
        present[0].week,
        reference,
        consumption - reference,
        math.fsum(weathers) if len(weathers) == len(present) else None,
    )


def _week_max_power(
    days: Sequence[date], max_power: Mapping[date, tuple[int, datetime]]
) -> MaxPower | None:
    """The highest of the days' max powers (the earliest of equal ones)."""
    best: MaxPower | None = None
    for day in days:
        if day in max_power:
            va, at = max_power[day]
            if best is None or va > best.va:
                best = MaxPower(day, va, at)
    return best


def _percent(delta: float, reference: float) -> float | None:
    return 100 * delta / reference if reference > 0 else None


def _r3(value: float) -> float:
    return round(value, 3)


def _r(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _opt_float(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError(f"expected a number, got {type(value).__name__}")
    return float(value)


def _opt_change(value: object) -> Change | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise TypeError(f"expected a change, got {type(value).__name__}")
    return Change.from_dict(value)
