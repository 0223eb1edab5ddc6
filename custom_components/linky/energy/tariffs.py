"""Tariff engine: hourly energy to hourly energy per bucket, energy cost, subscription and
taxes, and production revenue. No Home Assistant import.

Model:
- A `Tariff` is an ordered list of dated `TariffPeriod`s. A period applies from local
  (Europe/Paris) midnight of its `start` until the next period's start, so a price change
  adds a period and never rewrites the past. Production revenue uses its own dated list of
  `BuybackPeriod`s.
- Options: BASE (one price), HPHC (off-peak windows, local wall-clock times, default
  22:00-06:00; any minute is allowed, e.g. 22:30 or Enedis' 01:38), TEMPO (six prices; a
  Tempo day D runs from D 06:00 to D+1 06:00 local; off-peak is 22:00-06:00).
- The period (hence the prices) of an instant is the one of its local calendar date, also
  for the Tempo off-peak hours after midnight that belong to the previous Tempo day.

Maths: every input row is one UTC hour. Paris offsets are whole hours, so a UTC hour is one
local wall-clock hour, never split by midnight, by 06:00 or by a DST change. An hour that an
off-peak boundary cuts (e.g. 22:30) is split pro rata of the minutes on each side: the energy
is assumed flat within the hour. Everything is Decimal inside; floats only come out.
Unknown Tempo colours are never guessed: the hours of those days get no energy or cost rows
and their Tempo days are listed in `TariffResult.missing_colours` for a later recompute.
"""

from __future__ import annotations

import bisect
import calendar
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
import itertools
from typing import Any, Final

from ..conso.models import PARIS
from .hourly import HOUR, local_day_bounds
from .tempo import TEMPO_DAY_START, TempoColour

MINUTES_PER_DAY: Final = 24 * 60
_KWH: Final = Decimal(1000)
_ZERO: Final = Decimal(0)


class ContractOption(StrEnum):
    """Contract pricing option."""

    BASE = "base"
    HPHC = "hphc"
    TEMPO = "tempo"


class Bucket(StrEnum):
    """Energy bucket: what a kWh is priced as."""

    BASE = "base"
    HP = "hp"
    HC = "hc"
    BLUE_HP = "blue_hp"
    BLUE_HC = "blue_hc"
    WHITE_HP = "white_hp"
    WHITE_HC = "white_hc"
    RED_HP = "red_hp"
    RED_HC = "red_hc"


OPTION_BUCKETS: Final[Mapping[ContractOption, tuple[Bucket, ...]]] = {
    ContractOption.BASE: (Bucket.BASE,),
    ContractOption.HPHC: (Bucket.HP, Bucket.HC),
    ContractOption.TEMPO: (
        Bucket.BLUE_HP,
        Bucket.BLUE_HC,
        Bucket.WHITE_HP,
        Bucket.WHITE_HC,
        Bucket.RED_HP,
        Bucket.RED_HC,
    ),
}
"""Buckets that an option needs a price for, in display order."""

_TEMPO_BUCKETS: Final[Mapping[tuple[TempoColour, bool], Bucket]] = {
    (TempoColour.BLUE, False): Bucket.BLUE_HP,
    (TempoColour.BLUE, True): Bucket.BLUE_HC,
    (TempoColour.WHITE, False): Bucket.WHITE_HP,
    (TempoColour.WHITE, True): Bucket.WHITE_HC,
    (TempoColour.RED, False): Bucket.RED_HP,
    (TempoColour.RED, True): Bucket.RED_HC,
}

ColourLookup = Callable[[date], TempoColour | None]
"""Colour of Tempo day D, or None when it is not known (yet)."""


class TariffError(ValueError):
    """An invalid tariff. `key` is a stable error key (e.g. for a config-flow form) and
    `placeholders` fill its message."""

    def __init__(self, key: str, message: str, **placeholders: str) -> None:
        super().__init__(message)
        self.key = key
        self.placeholders = placeholders


class NoTariffPeriodError(LookupError):
    """No tariff period covers the instant (it is before the first period)."""


class ColourUnknownError(LookupError):
    """The Tempo colour of `day` is not known."""

    def __init__(self, day: date) -> None:
        super().__init__(f"Tempo colour of {day} is not known")
        self.day = day


def _minute_of_day(value: time) -> int:
    return value.hour * 60 + value.minute


@dataclass(frozen=True, slots=True)
class OffPeakWindow:
    """A daily off-peak window in local wall-clock time; `end` before `start` wraps midnight."""

    start: time
    end: time

    def __post_init__(self) -> None:
        for value in (self.start, self.end):
            if value.second or value.microsecond or value.tzinfo is not None:
                raise TariffError(
                    "offpeak_invalid",
                    f"off-peak times are local HH:MM, got {value}",
                    window=self.as_text(),
                )
        if self.start == self.end:
            raise TariffError(
                "offpeak_invalid", f"empty off-peak window {self.as_text()}", window=self.as_text()
            )

    def minute_ranges(self) -> tuple[tuple[int, int], ...]:
        """The window as half-open minute-of-day ranges within one day (two if it wraps)."""
        start, end = _minute_of_day(self.start), _minute_of_day(self.end)
        if start < end:
            return ((start, end),)
        return tuple((a, b) for a, b in ((start, MINUTES_PER_DAY), (0, end)) if a < b)

    def as_text(self) -> str:
        """The window as "HH:MM-HH:MM"."""
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    @classmethod
    def from_text(cls, text: str) -> OffPeakWindow:
        """Parse "HH:MM-HH:MM". Raises TariffError."""
        try:
            start, end = text.split("-")
            return cls(time.fromisoformat(start.strip()), time.fromisoformat(end.strip()))
        except ValueError as err:
            if isinstance(err, TariffError):
                raise
            raise TariffError(
                "offpeak_invalid", f"off-peak window {text!r} is not HH:MM-HH:MM", window=text
            ) from err


DEFAULT_OFFPEAK: Final = (OffPeakWindow(time(22), time(6)),)
TEMPO_OFFPEAK: Final = OffPeakWindow(time(22), time(6))


@dataclass(frozen=True, slots=True)
class TariffPeriod:
    """Prices in force from local midnight of `start` until the next period.

    `prices` are EUR/kWh per bucket (exactly the option's buckets). `offpeak` is only used by
    HPHC. `subscription_monthly` (EUR/month) and `tax_per_kwh` (EUR/kWh, for prices that do
    not include a tax) go to the separate fixed-cost series.
    """

    start: date
    option: ContractOption
    prices: Mapping[Bucket, Decimal]
    offpeak: tuple[OffPeakWindow, ...] = DEFAULT_OFFPEAK
    subscription_monthly: Decimal | None = None
    tax_per_kwh: Decimal | None = None

    def __post_init__(self) -> None:
        start = self.start.isoformat()
        required = OPTION_BUCKETS[self.option]
        for bucket in required:
            if bucket not in self.prices:
                raise TariffError(
                    "price_missing",
                    f"period {start} ({self.option}) has no {bucket} price",
                    start=start,
                    bucket=bucket.value,
                )
        for bucket, price in self.prices.items():
            if bucket not in required:
                raise TariffError(
                    "price_unexpected",
                    f"period {start} ({self.option}) does not use a {bucket} price",
                    start=start,
                    bucket=bucket.value,
                )
            _check_amount(price, start, bucket.value)
        for name, amount in (
            ("subscription", self.subscription_monthly),
            ("tax", self.tax_per_kwh),
        ):
            if amount is not None:
                _check_amount(amount, start, name)
        if self.option is ContractOption.HPHC:
            _check_offpeak(self.offpeak, start)

    def offpeak_ranges(self) -> tuple[tuple[int, int], ...]:
        """Off-peak minute-of-day ranges of this period's option (none for BASE)."""
        match self.option:
            case ContractOption.BASE:
                return ()
            case ContractOption.HPHC:
                return tuple(r for window in self.offpeak for r in window.minute_ranges())
            case ContractOption.TEMPO:
                return TEMPO_OFFPEAK.minute_ranges()

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form (amounts as strings, exact)."""
        return {
            "start": self.start.isoformat(),
            "option": self.option.value,
            "prices": {bucket.value: str(price) for bucket, price in self.prices.items()},
            "offpeak": [window.as_text() for window in self.offpeak],
            "subscription_monthly": _opt_str(self.subscription_monthly),
            "tax_per_kwh": _opt_str(self.tax_per_kwh),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TariffPeriod:
        """Rebuild a period from `as_dict` output. Raises TariffError."""
        try:
            offpeak = data.get("offpeak")
            return cls(
                start=date.fromisoformat(data["start"]),
                option=ContractOption(data["option"]),
                prices={
                    Bucket(bucket): _decimal(price) for bucket, price in data["prices"].items()
                },
                offpeak=DEFAULT_OFFPEAK
                if offpeak is None
                else tuple(OffPeakWindow.from_text(text) for text in offpeak),
                subscription_monthly=_opt_decimal(data.get("subscription_monthly")),
                tax_per_kwh=_opt_decimal(data.get("tax_per_kwh")),
            )
        except TariffError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise TariffError("invalid_data", f"invalid tariff period: {err!r}") from err


@dataclass(frozen=True, slots=True)
class BuybackPeriod:
    """Price paid for injected energy (EUR/kWh) from local midnight of `start`."""

    start: date
    price: Decimal

    def __post_init__(self) -> None:
        _check_amount(self.price, self.start.isoformat(), "buyback")


@dataclass(frozen=True, slots=True)
class Tariff:
    """Dated tariff periods (sorted, unique starts) and dated buy-back prices."""

    periods: tuple[TariffPeriod, ...]
    buyback: tuple[BuybackPeriod, ...] = ()

    def __post_init__(self) -> None:
        if not self.periods:
            raise TariffError("no_periods", "a tariff needs at least one period")
        _check_sorted([period.start for period in self.periods])
        _check_sorted([period.start for period in self.buyback])

    def period_at(self, day: date) -> TariffPeriod | None:
        """The period in force on local date `day`, or None before the first one."""
        index = bisect.bisect_right([period.start for period in self.periods], day) - 1
        return self.periods[index] if index >= 0 else None

    def buyback_price_at(self, day: date) -> Decimal | None:
        """The buy-back price in force on local date `day`, or None."""
        index = bisect.bisect_right([period.start for period in self.buyback], day) - 1
        return self.buyback[index].price if index >= 0 else None

    @property
    def uses_tempo(self) -> bool:
        """Whether any period needs Tempo colours."""
        return any(period.option is ContractOption.TEMPO for period in self.periods)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form, e.g. for config entry options."""
        return {
            "periods": [period.as_dict() for period in self.periods],
            "buyback": [
                {"start": period.start.isoformat(), "price": str(period.price)}
                for period in self.buyback
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Tariff:
        """Rebuild a tariff from `as_dict` output. Raises TariffError."""
        try:
            periods = tuple(TariffPeriod.from_dict(item) for item in data["periods"])
            buyback = tuple(
                BuybackPeriod(date.fromisoformat(item["start"]), _decimal(item["price"]))
                for item in data.get("buyback", ())
            )
        except TariffError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise TariffError("invalid_data", f"invalid tariff: {err!r}") from err
        return cls(periods, buyback)


def _check_sorted(starts: list[date]) -> None:
    for previous, current in itertools.pairwise(starts):
        if current == previous:
            raise TariffError(
                "duplicate_start",
                f"two periods start on {current}",
                start=current.isoformat(),
            )
        if current < previous:
            raise TariffError(
                "periods_not_sorted",
                f"period {current} comes after {previous}",
                start=current.isoformat(),
            )


def _check_amount(amount: Decimal, start: str, name: str) -> None:
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount < 0:
        raise TariffError(
            "price_invalid",
            f"period {start}: {name} must be a non-negative Decimal, got {amount!r}",
            start=start,
            bucket=name,
        )


def _check_offpeak(windows: tuple[OffPeakWindow, ...], start: str) -> None:
    if not windows:
        raise TariffError("offpeak_missing", f"period {start} has no off-peak window", start=start)
    ranges = sorted(r for window in windows for r in window.minute_ranges())
    for (_, end), (next_start, _) in itertools.pairwise(ranges):
        if next_start < end:
            raise TariffError(
                "offpeak_overlap", f"period {start} has overlapping off-peak windows", start=start
            )


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise TypeError(f"not a number: {value!r}")
    try:
        return Decimal(str(value))
    except InvalidOperation as err:
        raise ValueError(f"not a number: {value!r}") from err


def _opt_decimal(value: Any) -> Decimal | None:
    return None if value is None else _decimal(value)


def _opt_str(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


# --------------------------------------------------------------------------------------------
# Engine


@dataclass(slots=True)
class TariffResult:
    """Hourly output keyed by UTC hour start. Energy in Wh, money in EUR.

    `energy_wh` / `energy_cost` have one row per priced hour for every bucket of the period's
    option (0 when none of the hour fell in it). `fixed_cost` (subscription + per-kWh taxes)
    covers every consumption hour that a period covers, whatever its colour.
    `production_revenue` covers production hours with a buy-back price. Hours before the
    first period are in `unpriced_hours`; Tempo days without a colour in `missing_colours`.
    """

    energy_wh: dict[Bucket, dict[datetime, float]] = field(default_factory=dict)
    energy_cost: dict[Bucket, dict[datetime, float]] = field(default_factory=dict)
    total_energy_cost: dict[datetime, float] = field(default_factory=dict)
    fixed_cost: dict[datetime, float] = field(default_factory=dict)
    production_revenue: dict[datetime, float] = field(default_factory=dict)
    missing_colours: set[date] = field(default_factory=set)
    unpriced_hours: set[datetime] = field(default_factory=set)


class TariffEngine:
    """Prices hourly energy with a `Tariff` and an injected Tempo colour lookup."""

    def __init__(self, tariff: Tariff, colour_of: ColourLookup | None = None) -> None:
        self._tariff = tariff
        self._colour_of: ColourLookup = colour_of or _no_colour
        self._hours_in_day: dict[date, int] = {}

    def bucket_at(self, instant: datetime) -> Bucket:
        """The bucket of the aware `instant`.

        Raises NoTariffPeriodError before the first period, ColourUnknownError for a Tempo
        day whose colour is not known.
        """
        local = instant.astimezone(PARIS)
        period = self._period(local.date())
        bucket = self._classify(period, local.date(), _minute_of_day(local.time()))
        if isinstance(bucket, date):
            raise ColourUnknownError(bucket)
        return bucket

    def is_peak(self, instant: datetime) -> bool:
        """Whether the aware `instant` is in peak hours (never for BASE). Needs no colour."""
        local = instant.astimezone(PARIS)
        period = self._period(local.date())
        minute = _minute_of_day(local.time())
        if period.option is ContractOption.BASE:
            return False
        return not any(a <= minute < b for a, b in period.offpeak_ranges())

    def compute(
        self,
        consumption: Mapping[datetime, float | int | Decimal],
        production: Mapping[datetime, float | int | Decimal] | None = None,
    ) -> TariffResult:
        """Price hourly energies (Wh by aware UTC hour start). Raises ValueError on a key
        that is not an aware whole hour."""
        result = TariffResult()
        for start, wh in _sorted_hours(consumption):
            self._price_hour(result, start, _decimal(wh))
        for start, wh in _sorted_hours(production or {}):
            price = self._tariff.buyback_price_at(start.astimezone(PARIS).date())
            if price is not None:
                result.production_revenue[start] = float(_decimal(wh) / _KWH * price)
        return result

    def _period(self, day: date) -> TariffPeriod:
        period = self._tariff.period_at(day)
        if period is None:
            raise NoTariffPeriodError(f"no tariff period on {day}")
        return period

    def _price_hour(self, result: TariffResult, start: datetime, wh: Decimal) -> None:
        local = start.astimezone(PARIS)
        day = local.date()
        period = self._tariff.period_at(day)
        if period is None:
            result.unpriced_hours.add(start)
            return
        fixed = wh / _KWH * (period.tax_per_kwh or _ZERO)
        if period.subscription_monthly is not None:
            days_in_month = calendar.monthrange(day.year, day.month)[1]
            fixed += period.subscription_monthly / days_in_month / self._day_hours(day)
        result.fixed_cost[start] = float(fixed)

        first = _minute_of_day(local.time())
        energy = dict.fromkeys(OPTION_BUCKETS[period.option], _ZERO)
        for a, b in _pieces(first, first + 60, period):
            bucket = self._classify(period, day, a)
            if isinstance(bucket, date):
                result.missing_colours.add(bucket)
                return
            energy[bucket] += wh * (b - a) / 60
        total = _ZERO
        for bucket, bucket_wh in energy.items():
            cost = bucket_wh / _KWH * period.prices[bucket]
            total += cost
            result.energy_wh.setdefault(bucket, {})[start] = float(bucket_wh)
            result.energy_cost.setdefault(bucket, {})[start] = float(cost)
        result.total_energy_cost[start] = float(total)

    def _classify(self, period: TariffPeriod, day: date, minute: int) -> Bucket | date:
        """Bucket at `minute` of local `day`, or the Tempo day whose colour is missing."""
        offpeak = any(a <= minute < b for a, b in period.offpeak_ranges())
        match period.option:
            case ContractOption.BASE:
                return Bucket.BASE
            case ContractOption.HPHC:
                return Bucket.HC if offpeak else Bucket.HP
            case ContractOption.TEMPO:
                tempo_day = day if minute >= _minute_of_day(TEMPO_DAY_START) else day - _ONE_DAY
                colour = self._colour_of(tempo_day)
                if colour is None:
                    return tempo_day
                return _TEMPO_BUCKETS[colour, offpeak]

    def _day_hours(self, day: date) -> int:
        """Number of hours of local `day` (23, 24 or 25)."""
        hours = self._hours_in_day.get(day)
        if hours is None:
            start, end = local_day_bounds(day)
            hours = self._hours_in_day[day] = (end - start) // HOUR
        return hours


_ONE_DAY: Final = timedelta(days=1)


def _no_colour(_day: date) -> TempoColour | None:
    return None


def _pieces(first: int, last: int, period: TariffPeriod) -> Iterable[tuple[int, int]]:
    """Split minutes [first, last) of a day where the classification may change."""
    cuts = {a for r in period.offpeak_ranges() for a in r}
    if period.option is ContractOption.TEMPO:
        cuts.add(_minute_of_day(TEMPO_DAY_START))
    points = [first, *sorted(c for c in cuts if first < c < last), last]
    return itertools.pairwise(points)


def _sorted_hours(
    rows: Mapping[datetime, float | int | Decimal],
) -> list[tuple[datetime, float | int | Decimal]]:
    hours = []
    for start, wh in rows.items():
        if start.tzinfo is None:
            raise ValueError(f"naive hour start {start}")
        utc = start.astimezone(UTC)
        if utc.minute or utc.second or utc.microsecond:
            raise ValueError(f"not a whole UTC hour: {start}")
        hours.append((utc, wh))
    return sorted(hours, key=lambda row: row[0])


# --------------------------------------------------------------------------------------------
# Defaults: French regulated "Tarif Bleu" (EDF) residential prices, TTC (all taxes included:
# accise, CTA, VAT), EUR/kWh. Update this table at each movement (1 February, 1 August).

KVA_STEPS: Final = (3, 6, 9, 12, 15, 18, 24, 30, 36)


@dataclass(frozen=True, slots=True)
class DefaultGrid:
    """Public prices of one option from `start`, for the subscribed powers in `kva`.

    `subscription_yearly` (EUR/year TTC by kVA) holds only figures that were confirmed.
    """

    start: date
    option: ContractOption
    prices: Mapping[Bucket, Decimal]
    kva: tuple[int, ...] = KVA_STEPS
    subscription_yearly: Mapping[int, Decimal] = field(default_factory=dict)


D = Decimal
DEFAULT_TARIFFS: Final[tuple[DefaultGrid, ...]] = (
    # 2025-08-01 Base and HP/HC: jechange.fr "Tarif Bleu EDF" page, prices checked 2025-08-07
    # (Base 0.1952, HP 0.2081, HC 0.1635); the same Base/HP figures are quoted as the prices
    # replaced on 2026-02-01 by kulturegeek.fr (2026-02-02) and revolution-energetique.com.
    DefaultGrid(date(2025, 8, 1), ContractOption.BASE, {Bucket.BASE: D("0.1952")}),
    DefaultGrid(
        date(2025, 8, 1), ContractOption.HPHC, {Bucket.HP: D("0.2081"), Bucket.HC: D("0.1635")}
    ),
    DefaultGrid(
        date(2025, 8, 1),
        ContractOption.TEMPO,
        {
            # All six prices as listed in moneyvox.fr's table "prix du kWh au tarif réglementé
            # de vente depuis le 1er août 2025" (blue 0.1494/0.1232, white 0.1730/0.1391, red
            # 0.6468/0.1460); not checked against the CRE deliberation n°2025-155 itself.
            Bucket.BLUE_HP: D("0.1494"),
            Bucket.BLUE_HC: D("0.1232"),  # jechange.fr, checked 2025-08-07
            Bucket.WHITE_HP: D("0.1730"),
            Bucket.WHITE_HC: D("0.1391"),
            Bucket.RED_HP: D("0.6468"),  # jechange.fr 2025-08-07; econostrum.info (64.68 c€)
            Bucket.RED_HC: D("0.1460"),
        },
        # 9 kVA Tempo: 238.06 EUR/year from 2025-08-01 (econostrum.info quoting Selectra).
        subscription_yearly={9: D("238.06")},
    ),
    # 2026-02-01 (CRE deliberation of 14 January 2026): revolution-energetique.com
    # "nouveaux prix de l'électricité au 1er février 2026" (2026-02-01), same Base and HP/HC
    # figures in kulturegeek.fr (2026-02-02) and 1001infos.net. Base now depends on the power.
    DefaultGrid(
        date(2026, 2, 1),
        ContractOption.BASE,
        {Bucket.BASE: D("0.1940")},
        kva=(3, 6),
        # 6 kVA Base: 189.99 EUR/year (tuxboard.com, single source, not checked against CRE).
        subscription_yearly={6: D("189.99")},
    ),
    DefaultGrid(
        date(2026, 2, 1), ContractOption.BASE, {Bucket.BASE: D("0.1927")}, kva=KVA_STEPS[2:]
    ),
    DefaultGrid(
        date(2026, 2, 1), ContractOption.HPHC, {Bucket.HP: D("0.2065"), Bucket.HC: D("0.1579")}
    ),
    DefaultGrid(
        date(2026, 2, 1),
        ContractOption.TEMPO,
        {
            Bucket.BLUE_HP: D("0.1612"),
            Bucket.BLUE_HC: D("0.1325"),
            Bucket.WHITE_HP: D("0.1871"),
            Bucket.WHITE_HC: D("0.1499"),
            Bucket.RED_HP: D("0.7060"),  # also econostrum.info ("de 64,68 à 70,60 c€")
            Bucket.RED_HC: D("0.1575"),
        },
    ),
)


def default_tariff(
    option: ContractOption, kva: int, subscription_monthly: Decimal | None = None
) -> Tariff:
    """A tariff with every `DEFAULT_TARIFFS` grid of `option` for `kva`.

    Each period's subscription is the table's confirmed figure (yearly / 12) when there is
    one, else `subscription_monthly`. Raises TariffError when no grid matches.
    """
    periods = [
        TariffPeriod(
            start=grid.start,
            option=option,
            prices=dict(grid.prices),
            subscription_monthly=grid.subscription_yearly[kva] / 12
            if kva in grid.subscription_yearly
            else subscription_monthly,
        )
        for grid in sorted(DEFAULT_TARIFFS, key=lambda grid: grid.start)
        if grid.option is option and kva in grid.kva
    ]
    if not periods:
        raise TariffError(
            "no_default", f"no default {option} prices for {kva} kVA", option=option, kva=str(kva)
        )
    return Tariff(tuple(periods))
