"""Data that used to be lost: a partial or unreadable load-curve day falls back to its daily
value and completes hour by hour later; one bad window never blocks the others; a floor
or a day given up is checked again after a month."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from conso_emulator import HOME_PDL
from custom_components.linky.energy.ledger import Resolution
from custom_components.linky.localtime import PARIS
from custom_components.linky.sync.engine import MAX_GAP_ATTEMPTS
from custom_components.linky.sync.gaps import RECHECK_DAYS
from custom_components.linky.sync.model import RunStatus, SyncOptions

from .helpers import Meter, edit_curves, make_meter

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=PARIS).astimezone(UTC)
TODAY = date(2026, 11, 20)
ONE_MONTH = SyncOptions(HOME_PDL, hourly_history_months=1)
DAILY = "consommation_quotidienne"


def _record(meter: Meter, day: date) -> Any:
    return meter.sync.state.series_state("consumption").ledger.get(day)


def _label_day(point: dict[str, Any]) -> date:
    """The local day of a point's interval (its label ends it)."""
    return (datetime.fromisoformat(point["d"]) - timedelta(seconds=1)).date()


@pytest.mark.parametrize("damage", ["missing", "null", "negative", "repeated"])
async def test_partial_day_falls_back_to_daily_then_completes(
    monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    """A day whose load curve misses a half-hour or has an unreadable point is stored with
    its daily value at once (not left empty), its bad points counted; when a complete curve
    comes later, it is stored hour by hour, with exact sums."""
    victim = TODAY - timedelta(days=3)
    broken = True

    def damage_victim(points: list[dict[str, Any]]) -> None:
        at = [i for i, p in enumerate(points) if _label_day(p) == victim]
        if not broken or not at:
            return
        index = at[10]
        match damage:
            case "missing":
                del points[index]
            case "null":
                points[index]["v"] = None
            case "negative":
                points[index]["v"] = "-12"
            case "repeated":
                points.insert(index, dict(points[index]))

    edit_curves(monkeypatch, damage_victim)
    meter = make_meter(NOW, ONE_MONTH)
    assert (await meter.sync.async_run()).status is RunStatus.OK
    record = _record(meter, victim)
    assert record is not None
    assert record.resolution is Resolution.DAILY
    assert record.total_wh == meter.emulator.truth.daily_wh(HOME_PDL, False, victim)
    state = meter.sync.state.series_state("consumption")
    if damage != "missing":
        assert state.bad_points[victim] == 1

    broken = False  # the next day, Enedis serves the whole curve
    meter.clock.advance(timedelta(days=1))
    await meter.sync.async_run()
    assert _record(meter, victim).resolution is Resolution.HOURLY
    assert victim not in state.bad_points
    meter.sink.assert_exact("consumption")


async def test_one_unreadable_window_does_not_block_the_others(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A back-fill window whose answer is not a load curve at all counts as a failed
    attempt for its days; the windows after it are still fetched in the same run."""
    bad_end = (TODAY - timedelta(days=7)).isoformat()  # the first back-fill window ends there

    def unreadable_first_window(points: list[dict[str, Any]]) -> object:
        if points and points[-1]["d"].startswith(bad_end):
            return {"grandeur": "nope"}
        return None

    edit_curves(monkeypatch, unreadable_first_window)
    meter = make_meter(NOW, ONE_MONTH)
    result = await meter.sync.async_run()
    assert result.status is RunStatus.OK
    state = meter.sync.state.series_state("consumption")
    blocked = TODAY - timedelta(days=9)
    assert state.attempts[blocked] == 1
    older = TODAY - timedelta(days=20)
    assert _record(meter, older).resolution is Resolution.HOURLY


async def test_given_up_day_falls_back_to_daily_and_is_checked_again_a_month_later(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A day whose curve never comes is given up after three days of attempts, then stored
    with its daily value; a month later it is asked once more, and stored hour by hour when
    its curve has come meanwhile."""
    victim = TODAY - timedelta(days=15)
    served = False

    def without_victim(points: list[dict[str, Any]]) -> None:
        if not served:
            points[:] = [p for p in points if _label_day(p) != victim]

    edit_curves(monkeypatch, without_victim)
    meter = make_meter(NOW, SyncOptions(HOME_PDL, hourly_history_months=3))
    for _ in range(MAX_GAP_ATTEMPTS):
        await meter.sync.async_run()
        meter.clock.advance(timedelta(days=1))
    state = meter.sync.state.series_state("consumption")
    assert victim in state.given_up
    assert _record(meter, victim).resolution is Resolution.DAILY

    requests = len(meter.emulator.requests)
    await meter.sync.async_run(daily=False)
    assert len(meter.emulator.requests) == requests  # given up: not asked again meanwhile

    served = True
    meter.clock.advance(timedelta(days=RECHECK_DAYS))
    await meter.sync.async_run(daily=False)
    assert _record(meter, victim).resolution is Resolution.HOURLY
    assert victim not in state.given_up
    meter.sink.assert_exact("consumption")


async def test_transient_empty_windows_do_not_end_the_backfill_for_good(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two old windows answering "no data" look like a load curve that was not recorded
    then: the back-fill stops there, but checks again a month later and resumes."""
    outage = True
    cut = TODAY - timedelta(days=40)

    def empty_before_cut(points: list[dict[str, Any]]) -> None:
        if outage:
            points[:] = [p for p in points if _label_day(p) >= cut]

    edit_curves(monkeypatch, empty_before_cut)
    meter = make_meter(NOW, SyncOptions(HOME_PDL, hourly_history_months=4))
    await meter.sync.async_run()
    state = meter.sync.state.series_state("consumption")
    assert state.curve_floor is not None
    assert state.curve_floor > cut - timedelta(days=20)
    assert not meter.sync.backfill_pending()

    outage = False
    meter.clock.advance(timedelta(days=RECHECK_DAYS))
    assert meter.sync.backfill_pending()
    while meter.sync.backfill_pending():
        await meter.sync.async_run(daily=False)
    assert state.curve_floor is None
    deep = cut - timedelta(days=20)
    assert _record(meter, deep).resolution is Resolution.HOURLY
    meter.sink.assert_exact("consumption")
