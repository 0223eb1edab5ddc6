"""Tariff model: contract options, energy buckets, off-peak windows and dated prices. No Home
Assistant import.

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

`pricing` prices hourly energy with a `Tariff`; `regulated` holds the default regulated prices.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal, InvalidOperation
from enum import StrEnum
import itertools
from typing import Any, Final

from .tempo_calendar import TempoColour

MINUTES_PER_DAY: Final = 24 * 60


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
