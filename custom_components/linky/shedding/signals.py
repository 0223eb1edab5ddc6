"""Peak signals: when a peak is on, and why. No Home Assistant import.

Three sources, all with an explicit `now` (aware) so that tests and the glue control time:

- `TariffPeaks`: the contract's peak hours. Which buckets count as peak is configurable
  (default: HP/HC peak hours and Tempo red peak hours; Tempo white and blue peak hours can be
  added). A Tempo day runs from 06:00 to 06:00 local; an hour whose Tempo colour is not
  known is never a peak (no guessing).
- `PowerPeakDetector`: a live power reading against the subscribed power, with hysteresis
  (on at or above `on_ratio` x kVA, off at or below `off_ratio` x kVA) and a dwell time: a
  crossing must hold for `dwell` before the signal switches, so a noisy reading never flaps.
- `preheat_signal`: the window before a red (configurable) Tempo day during which heating
  may store heat. Pre-heating is the opposite of a peak, so it is a separate signal.

`combine` merges peak signals: on when any is on; the reason is the first active one in
argument order (pass the tariff first so that its reason wins over `POWER`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, Final

from ..energy.hourly import HOUR
from ..energy.pricing import TariffEngine
from ..energy.tariffs import (
    Bucket,
    ColourLookup,
    ColourUnknownError,
    ContractOption,
    NoTariffPeriodError,
    Tariff,
)
from ..energy.tempo_calendar import TEMPO_DAY_START, TempoColour, tempo_day_of
from ..localtime import PARIS, local_date, parse_instant


class PeakReason(StrEnum):
    """Why a peak is on (the binary sensor's `reason` attribute)."""

    HP = "hp"
    TEMPO_BLUE = "tempo_blue"
    TEMPO_WHITE = "tempo_white"
    TEMPO_RED = "tempo_red"
    POWER = "power"


PEAK_BUCKET_REASONS: Final[Mapping[Bucket, PeakReason]] = {
    Bucket.HP: PeakReason.HP,
    Bucket.BLUE_HP: PeakReason.TEMPO_BLUE,
    Bucket.WHITE_HP: PeakReason.TEMPO_WHITE,
    Bucket.RED_HP: PeakReason.TEMPO_RED,
}
"""Buckets that may count as peak, and the reason each gives."""
DEFAULT_PEAK_BUCKETS: Final = frozenset({Bucket.HP, Bucket.RED_HP})


@dataclass(frozen=True, slots=True)
class PeakSignal:
    """Whether a peak is on, why, and since when the current state holds (None: unknown)."""

    active: bool
    reason: PeakReason | None = None
    since: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form (e.g. for attributes or persistence)."""
        return {
            "active": self.active,
            "reason": None if self.reason is None else self.reason.value,
            "since": None if self.since is None else self.since.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PeakSignal:
        """Rebuild a signal from `as_dict` output."""
        reason, since = data.get("reason"), data.get("since")
        return cls(
            active=bool(data["active"]),
            reason=None if reason is None else PeakReason(reason),
            since=None if since is None else parse_instant(since),
        )


INACTIVE: Final = PeakSignal(False)


def combine(*signals: PeakSignal) -> PeakSignal:
    """Merge signals: active when any is; reason of the first active one; `since` is when
    the merged state started (None when a needed `since` is unknown)."""
    active = [signal for signal in signals if signal.active]
    chosen = active or list(signals)
    if not chosen:
        return INACTIVE
    starts = [signal.since for signal in chosen]
    since: datetime | None = None
    if all(start is not None for start in starts):
        known = [start for start in starts if start is not None]
        # Union of active spans: on since the earliest; all off: off since the latest.
        since = min(known) if active else max(known)
    return PeakSignal(bool(active), active[0].reason if active else None, since)


# --------------------------------------------------------------------------------------------
# Tariff peaks

_SCAN: Final = timedelta(days=2)


class TariffPeaks:
    """Peak hours of a contract, with an injected Tempo colour lookup (e.g.
    `TempoCache.colour`)."""

    def __init__(
        self,
        tariff: Tariff,
        colour_of: ColourLookup | None = None,
        peak_buckets: Iterable[Bucket] = DEFAULT_PEAK_BUCKETS,
    ) -> None:
        buckets = frozenset(peak_buckets)
        unknown = buckets - PEAK_BUCKET_REASONS.keys()
        if unknown:
            names = ", ".join(sorted(bucket.value for bucket in unknown))
            raise ValueError(f"only peak-hour buckets can count as peak, not {names}")
        self._tariff = tariff
        self._engine = TariffEngine(tariff, colour_of)
        self._buckets = buckets

    @property
    def peak_buckets(self) -> frozenset[Bucket]:
        """The buckets that count as peak."""
        return self._buckets

    def reason_at(self, instant: datetime) -> PeakReason | None:
        """The peak reason at the aware `instant`, or None when it is not a peak (off-peak
        hours, a bucket not counted, before the first tariff period, unknown colour)."""
        try:
            bucket = self._engine.bucket_at(instant)
        except NoTariffPeriodError, ColourUnknownError:
            return None
        return PEAK_BUCKET_REASONS[bucket] if bucket in self._buckets else None

    def signal(self, now: datetime) -> PeakSignal:
        """The tariff peak signal at `now`; `since` is None when the state started more than
        two days ago."""
        reason = self.reason_at(now)
        since: datetime | None = None
        for cut in reversed([cut for cut in self._cuts(now) if cut <= now]):
            if self.reason_at(cut) != reason:
                break
            since = cut
        else:
            since = None  # the scan window ended before the state changed
        return PeakSignal(reason is not None, reason, since)

    def next_change(self, now: datetime) -> datetime | None:
        """The first instant after `now` (within two days) at which the signal changes, as
        far as the known Tempo colours tell: when the glue should evaluate it again."""
        reason = self.reason_at(now)
        for cut in self._cuts(now):
            if cut > now and self.reason_at(cut) != reason:
                return cut
        return None

    def _cuts(self, now: datetime) -> list[datetime]:
        """Sorted instants around `now` (+/- two days) between which the signal is constant.

        Every change happens at an off-peak boundary, at 06:00 (Tempo), at local midnight (a
        new tariff period) or at a DST jump (whole UTC hours). A boundary that falls in the
        spring gap gives a harmless extra cut; the real change is at the UTC hour of the jump.
        """
        first, last = now - _SCAN, now + _SCAN
        cuts: set[datetime] = set()
        day, end_day = local_date(first), local_date(last)
        while day <= end_day:
            minutes = {0}
            period = self._tariff.period_at(day)
            if period is not None:
                minutes.update(edge for r in period.offpeak_ranges() for edge in r)
                if period.option is ContractOption.TEMPO:
                    minutes.add(TEMPO_DAY_START.hour * 60 + TEMPO_DAY_START.minute)
            for minute in minutes:
                if minute < 24 * 60:
                    for fold in (0, 1):
                        local = time(minute // 60, minute % 60, fold=fold)
                        cuts.add(datetime.combine(day, local, PARIS).astimezone(UTC))
            day += timedelta(days=1)
        hour = first.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        while hour <= last:
            cuts.add(hour)
            hour += HOUR
        return sorted(cut for cut in cuts if first <= cut <= last)


# --------------------------------------------------------------------------------------------
# Live power


@dataclass(frozen=True, slots=True)
class PowerThreshold:
    """Hysteresis thresholds on the subscribed power.

    The meter trips on apparent power (VA); a W reading is compared as if cos phi = 1, which
    errs on the safe side (VA >= W).
    """

    subscribed_kva: float
    on_ratio: float = 0.9
    off_ratio: float = 0.8
    dwell: timedelta = timedelta(minutes=2)

    def __post_init__(self) -> None:
        if not self.subscribed_kva > 0:
            raise ValueError(f"subscribed power must be positive, got {self.subscribed_kva}")
        if not 0 < self.off_ratio < self.on_ratio:
            raise ValueError(
                f"need 0 < off_ratio < on_ratio, got {self.off_ratio} and {self.on_ratio}"
            )
        if self.dwell < timedelta(0):
            raise ValueError(f"dwell must not be negative, got {self.dwell}")

    @property
    def on_w(self) -> float:
        """Power at or above which a peak starts (after the dwell time)."""
        return self.subscribed_kva * 1000 * self.on_ratio

    @property
    def off_w(self) -> float:
        """Power at or below which a peak ends (after the dwell time)."""
        return self.subscribed_kva * 1000 * self.off_ratio


class PowerPeakDetector:
    """Hysteresis on a live power reading. Feed every reading to `update`."""

    def __init__(self, threshold: PowerThreshold) -> None:
        self.threshold = threshold
        self._signal = INACTIVE
        self._crossed_at: datetime | None = None

    @property
    def signal(self) -> PeakSignal:
        """The current signal."""
        return self._signal

    def update(self, now: datetime, power_w: float | None) -> PeakSignal:
        """Take a reading (None: unavailable) at `now` and return the signal.

        Off: a reading >= `on_w` starts a crossing; the peak starts once readings stayed
        >= `on_w` for `dwell`. On: symmetric with `<= off_w`. A reading between the two
        thresholds cancels a crossing. An unavailable reading never starts a peak, and ends
        one after the dwell like a low reading: a sensor that went away must not keep loads
        off.
        """
        if now.tzinfo is None:
            raise ValueError(f"naive instant {now}")
        active = self._signal.active
        if power_w is None:
            crossing = active
        else:
            crossing = power_w <= self.threshold.off_w if active else power_w >= self.threshold.on_w
        if not crossing:
            self._crossed_at = None
            return self._signal
        if self._crossed_at is None:
            self._crossed_at = now
        if now - self._crossed_at >= self.threshold.dwell:
            self._signal = PeakSignal(
                not active, None if active else PeakReason.POWER, self._crossed_at
            )
            self._crossed_at = None
        return self._signal

    def as_dict(self) -> dict[str, Any]:
        """JSON-able state (thresholds come from the options, not from here)."""
        return {
            "signal": self._signal.as_dict(),
            "crossed_at": None if self._crossed_at is None else self._crossed_at.isoformat(),
        }

    @classmethod
    def from_dict(cls, threshold: PowerThreshold, data: Mapping[str, Any]) -> PowerPeakDetector:
        """Rebuild a detector from `as_dict` output."""
        detector = cls(threshold)
        detector._signal = PeakSignal.from_dict(data["signal"])
        crossed_at = data.get("crossed_at")
        detector._crossed_at = None if crossed_at is None else parse_instant(crossed_at)
        return detector


# --------------------------------------------------------------------------------------------
# Pre-heat


@dataclass(frozen=True, slots=True)
class PreheatConfig:
    """Pre-heat during `lead` before the start (06:00) of a Tempo day of one of `colours`."""

    lead: timedelta = timedelta(hours=4)
    colours: frozenset[TempoColour] = frozenset({TempoColour.RED})

    def __post_init__(self) -> None:
        if not timedelta(0) < self.lead <= timedelta(hours=24):
            raise ValueError(f"pre-heat lead must be in (0, 24 h], got {self.lead}")


@dataclass(frozen=True, slots=True)
class PreheatSignal:
    """Whether to pre-heat now. `tempo_day` is the coming day that is pre-heated for, with
    the window [`start`, `end`); they are set whenever that day's colour calls for a
    pre-heat, also before the window opens."""

    active: bool
    tempo_day: date | None = None
    start: datetime | None = None
    end: datetime | None = None


def preheat_signal(
    now: datetime, colour_of: ColourLookup, config: PreheatConfig | None = None
) -> PreheatSignal:
    """The pre-heat signal at the aware `now` for the next Tempo day."""
    config = config or PreheatConfig()
    day = tempo_day_of(now) + timedelta(days=1)
    if colour_of(day) not in config.colours:
        return PreheatSignal(False)
    end = datetime.combine(day, TEMPO_DAY_START, PARIS).astimezone(UTC)
    start = end - config.lead  # real elapsed time, right across a DST night
    return PreheatSignal(start <= now < end, day, start, end)
