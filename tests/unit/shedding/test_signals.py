"""Peak signals: HP/HC and Tempo peak hours (06:00 boundary, DST days, unknown colours),
live power hysteresis with a dwell time (no flapping), merging, and the Tempo pre-heat
window."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
import json

import pytest

from custom_components.linky.energy.tariffs import (
    Bucket,
    ContractOption,
    OffPeakWindow,
    Tariff,
    TariffPeriod,
)
from custom_components.linky.energy.tempo_calendar import TempoColour
from custom_components.linky.localtime import PARIS
from custom_components.linky.shedding.signals import (
    INACTIVE,
    PeakReason,
    PeakSignal,
    PowerPeakDetector,
    PowerThreshold,
    PreheatConfig,
    PreheatSignal,
    TariffPeaks,
    combine,
    preheat_signal,
)

D = Decimal
SPRING = date(2026, 3, 29)  # 02:00 -> 03:00
AUTUMN = date(2025, 10, 26)  # 03:00 -> 02:00
TEMPO_PRICES = {
    Bucket.BLUE_HP: D("0.1612"),
    Bucket.BLUE_HC: D("0.1325"),
    Bucket.WHITE_HP: D("0.1871"),
    Bucket.WHITE_HC: D("0.1499"),
    Bucket.RED_HP: D("0.7060"),
    Bucket.RED_HC: D("0.1575"),
}


def local(day: date, hour: int, minute: int = 0, fold: int = 0) -> datetime:
    """A Europe/Paris instant."""
    return datetime.combine(day, time(hour, minute, fold=fold), PARIS)


def utc(day: date, hour: int, minute: int = 0) -> datetime:
    """A UTC instant."""
    return datetime.combine(day, time(hour, minute), UTC)


def hphc(*windows: str) -> Tariff:
    """An HP/HC tariff since 2025-01-01 with the given off-peak windows."""
    prices = {Bucket.HP: D("0.2"), Bucket.HC: D("0.15")}
    offpeak = tuple(OffPeakWindow.from_text(text) for text in windows or ("22:00-06:00",))
    return Tariff((TariffPeriod(date(2025, 1, 1), ContractOption.HPHC, prices, offpeak),))


def tempo(colours: dict[date, TempoColour], **kwargs: object) -> TariffPeaks:
    """Tempo peaks since 2025-09-01 with a fixed colour calendar."""
    tariff = Tariff((TariffPeriod(date(2025, 9, 1), ContractOption.TEMPO, TEMPO_PRICES),))
    return TariffPeaks(tariff, colours.get, **kwargs)  # type: ignore[arg-type]


def test_hphc_peak_hours_since_and_next_change() -> None:
    peaks = TariffPeaks(hphc())
    day = date(2026, 1, 14)
    assert peaks.signal(local(day, 5, 59)) == PeakSignal(False, None, local(day - timedelta(1), 22))
    assert peaks.signal(local(day, 6)) == PeakSignal(True, PeakReason.HP, local(day, 6))
    assert peaks.signal(local(day, 21, 59)) == PeakSignal(True, PeakReason.HP, local(day, 6))
    assert peaks.next_change(local(day, 12)) == local(day, 22)
    assert peaks.next_change(local(day, 23)) == local(day + timedelta(1), 6)
    assert not TariffPeaks(hphc(), peak_buckets=()).signal(local(day, 12)).active


def test_tempo_red_peak_follows_the_06_00_boundary() -> None:
    red = date(2026, 1, 15)
    colours = {
        red - timedelta(1): TempoColour.WHITE,
        red: TempoColour.RED,
        red + timedelta(1): TempoColour.RED,
        red + timedelta(2): TempoColour.BLUE,
    }
    peaks = tempo(colours)
    # 05:59 on the red date still belongs to the white day, in its off-peak hours.
    assert peaks.reason_at(local(red, 5, 59)) is None
    assert peaks.signal(local(red, 6)) == PeakSignal(True, PeakReason.TEMPO_RED, local(red, 6))
    assert peaks.reason_at(local(red, 21, 59)) is PeakReason.TEMPO_RED
    assert peaks.reason_at(local(red, 22)) is None
    # The night after the red day is red off-peak hours: no peak.
    assert peaks.reason_at(local(red + timedelta(1), 5)) is None
    # Second red day: the peak started at 06:00 that day, not the day before.
    second = peaks.signal(local(red + timedelta(1), 7))
    assert second == PeakSignal(True, PeakReason.TEMPO_RED, local(red + timedelta(1), 6))
    assert peaks.next_change(local(red + timedelta(1), 7)) == local(red + timedelta(1), 22)
    # White peak hours count only when asked for.
    assert peaks.reason_at(local(red - timedelta(1), 12)) is None
    with_white = tempo(colours, peak_buckets={Bucket.RED_HP, Bucket.WHITE_HP})
    assert with_white.reason_at(local(red - timedelta(1), 12)) is PeakReason.TEMPO_WHITE
    # Blue day after: not a peak by default.
    assert peaks.reason_at(local(red + timedelta(2), 12)) is None


def test_unknown_colours_base_contracts_and_early_instants_are_never_peaks() -> None:
    day = date(2026, 1, 15)
    peaks = tempo({day: TempoColour.RED})
    assert peaks.reason_at(local(day + timedelta(1), 12)) is None  # colour not known
    # The peak ends at 22:00, and nothing is known after: no next change beyond.
    assert peaks.next_change(local(day, 12)) == local(day, 22)
    assert peaks.next_change(local(day, 23)) is None
    base = Tariff((TariffPeriod(date(2025, 1, 1), ContractOption.BASE, {Bucket.BASE: D(1)}),))
    assert TariffPeaks(base).signal(local(day, 12)) == PeakSignal(False, None, None)
    assert TariffPeaks(hphc()).signal(local(date(2024, 12, 31), 12)).active is False
    with pytest.raises(ValueError, match="red_hc"):
        tempo({}, peak_buckets={Bucket.RED_HC})


def test_spring_dst_with_an_off_peak_start_in_the_skipped_hour() -> None:
    # Off-peak 02:30-08:00: on the spring day 02:30 does not exist; the off-peak hours start
    # at the jump, 01:59:59 +01:00 -> 03:00 +02:00 (01:00 UTC).
    peaks = TariffPeaks(hphc("02:30-08:00"))
    assert peaks.reason_at(utc(SPRING, 0, 59)) is PeakReason.HP
    assert peaks.reason_at(utc(SPRING, 1)) is None
    assert peaks.next_change(utc(SPRING, 0, 30)) == utc(SPRING, 1)
    assert peaks.signal(utc(SPRING, 1, 30)).since == utc(SPRING, 1)
    assert peaks.next_change(utc(SPRING, 1, 30)) == local(SPRING, 8)
    assert peaks.signal(local(SPRING, 9)).since == local(SPRING, 8)


def test_autumn_dst_with_an_off_peak_end_in_the_repeated_hour() -> None:
    # Off-peak 22:30-02:30: 02:30 happens twice on the autumn day, so the peak starts at the
    # first 02:30, stops at the change (02:00 again, off-peak) and starts at the second 02:30.
    peaks = TariffPeaks(hphc("22:30-02:30"))
    first, second = utc(AUTUMN, 0, 30), utc(AUTUMN, 1, 30)
    assert (first, second) == (
        local(AUTUMN, 2, 30).astimezone(UTC),
        local(AUTUMN, 2, 30, fold=1).astimezone(UTC),
    )
    assert peaks.next_change(local(AUTUMN, 1)) == first
    assert peaks.next_change(first) == utc(AUTUMN, 1)  # 02:00 +01:00
    assert peaks.next_change(utc(AUTUMN, 1)) == second
    assert peaks.signal(local(AUTUMN, 12)) == PeakSignal(True, PeakReason.HP, second)
    # Tempo: the red peak after the change starts at 06:00 +01:00 (05:00 UTC).
    red = tempo({AUTUMN: TempoColour.RED})
    assert red.signal(local(AUTUMN, 8)) == PeakSignal(True, PeakReason.TEMPO_RED, utc(AUTUMN, 5))


def readings(
    detector: PowerPeakDetector, start: datetime, powers: list[float | None]
) -> list[bool]:
    """Feed one reading per minute; return the signal after each."""
    return [
        detector.update(start + timedelta(minutes=i), power).active
        for i, power in enumerate(powers)
    ]


def test_power_hysteresis_and_dwell_prevent_flapping() -> None:
    threshold = PowerThreshold(9, on_ratio=0.9, off_ratio=0.8, dwell=timedelta(minutes=2))
    assert (threshold.on_w, threshold.off_w) == (8100, 7200)
    detector = PowerPeakDetector(threshold)
    start = datetime(2026, 1, 14, 18, tzinfo=UTC)
    noisy_high = [8150, 8050] * 5  # a noisy reading around the on threshold
    assert readings(detector, start, noisy_high) == [False] * 10
    # Three minutes at or above 8100 W: on when the crossing has lasted two minutes.
    assert readings(detector, start + timedelta(minutes=10), [8100, 8600, 9000]) == [
        False,
        False,
        True,
    ]
    assert detector.signal == PeakSignal(True, PeakReason.POWER, start + timedelta(minutes=10))
    # Between the thresholds, noise around the off threshold, a short unavailability: on.
    hold: list[float | None] = [7800, 7500, 7150, 7250, 7100, 7300, None, 7300, 7900]
    assert readings(detector, start + timedelta(minutes=13), hold) == [True] * 9
    # Two minutes at or below 7200 W: off.
    assert readings(detector, start + timedelta(minutes=22), [7200, 6000, 5000]) == [
        True,
        True,
        False,
    ]
    assert detector.signal == PeakSignal(False, None, start + timedelta(minutes=22))


def test_unavailable_power_never_starts_a_peak_and_ends_one_after_the_dwell() -> None:
    """A power sensor that went away (a TIC reader unplugged, a Zigbee device lost) must not
    keep loads off: during a peak, unavailable readings end it after the dwell, as low
    readings would; outside a peak they never start one."""
    threshold = PowerThreshold(9, dwell=timedelta(minutes=2))
    detector = PowerPeakDetector(threshold)
    start = datetime(2026, 1, 14, 18, tzinfo=UTC)
    assert readings(detector, start, [None] * 5) == [False] * 5
    assert readings(detector, start + timedelta(minutes=5), [9000, 9000, 9000]) == [
        False,
        False,
        True,
    ]
    assert readings(detector, start + timedelta(minutes=8), [None, None, None]) == [
        True,
        True,
        False,
    ]


def test_power_detector_round_trip_mid_crossing_and_validation() -> None:
    threshold = PowerThreshold(6, dwell=timedelta(minutes=3))
    detector = PowerPeakDetector(threshold)
    start = datetime(2026, 1, 14, 18, tzinfo=UTC)
    detector.update(start, 6000)
    restored = PowerPeakDetector.from_dict(threshold, json.loads(json.dumps(detector.as_dict())))
    assert restored.update(start + timedelta(minutes=2), 6000) == INACTIVE
    assert restored.update(start + timedelta(minutes=3), 6000).since == start
    instant = PowerPeakDetector(PowerThreshold(6, dwell=timedelta(0)))
    assert instant.update(start, 5400).active
    for bad in ({"subscribed_kva": 0}, {"subscribed_kva": 6, "off_ratio": 0.95},
                {"subscribed_kva": 6, "dwell": timedelta(-1)}):  # fmt: skip
        with pytest.raises(ValueError, match=r"\w"):
            PowerThreshold(**bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="naive"):
        detector.update(datetime(2026, 1, 1), 1)


def test_combine() -> None:
    t0 = datetime(2026, 1, 14, 6, tzinfo=UTC)
    tariff = PeakSignal(True, PeakReason.TEMPO_RED, t0)
    power = PeakSignal(True, PeakReason.POWER, t0 + timedelta(hours=12))
    assert combine(tariff, power) == PeakSignal(True, PeakReason.TEMPO_RED, t0)
    assert combine(INACTIVE, power) == power
    off_a = PeakSignal(False, None, t0)
    off_b = PeakSignal(False, None, t0 + timedelta(hours=1))
    assert combine(off_a, off_b) == off_b
    assert combine(off_a, INACTIVE) == INACTIVE
    assert combine() == INACTIVE
    assert PeakSignal.from_dict(json.loads(json.dumps(tariff.as_dict()))) == tariff


def test_preheat_window_before_a_red_day() -> None:
    red = date(2026, 1, 15)
    colours: Callable[[date], TempoColour | None] = {red: TempoColour.RED}.get
    window = (local(red, 2), local(red, 6))
    expected_off = PreheatSignal(False, red, *window)
    assert preheat_signal(local(red - timedelta(1), 12), colours) == expected_off
    assert preheat_signal(local(red, 1, 59), colours) == expected_off
    assert preheat_signal(local(red, 2), colours) == PreheatSignal(True, red, *window)
    assert preheat_signal(local(red, 5, 59), colours).active
    assert preheat_signal(local(red, 6), colours) == PreheatSignal(False)  # red day started
    white = {red: TempoColour.WHITE}.get
    assert preheat_signal(local(red, 3), white) == PreheatSignal(False)
    both = PreheatConfig(colours=frozenset({TempoColour.WHITE, TempoColour.RED}))
    assert preheat_signal(local(red, 3), white, both).active
    assert preheat_signal(local(red, 3), {}.get) == PreheatSignal(False)


def test_preheat_window_is_real_time_across_the_spring_change() -> None:
    colours = {SPRING: TempoColour.RED}.get
    config = PreheatConfig(lead=timedelta(hours=6))
    signal = preheat_signal(local(SPRING, 1), colours, config)
    assert signal == PreheatSignal(True, SPRING, local(SPRING - timedelta(1), 23),
                                   local(SPRING, 6))  # fmt: skip
    assert signal.end is not None
    assert signal.start is not None
    assert signal.end - signal.start == timedelta(hours=6)
    for lead in (timedelta(0), timedelta(hours=25)):
        with pytest.raises(ValueError, match="lead"):
            PreheatConfig(lead=lead)
