"""The fleet policy's actions run with a meter's engine (`sync/runs.py`): what each action
sends, the back-fill grant, and the daily attempts kept in the saved schedule (a restart
does not give a meter a third attempt the same day)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from conso_emulator import HOME_PDL
from custom_components.linky.const import SERIES_CONSUMPTION
from custom_components.linky.localtime import PARIS
from custom_components.linky.sync.fleet import Action, ActionKind
from custom_components.linky.sync.model import RunStatus, SyncOptions
from custom_components.linky.sync.runs import async_fleet_action, attempts_on, fleet_meter

from .helpers import Meter, make_meter

TODAY = date(2026, 11, 20)
NOW = datetime.combine(TODAY, time(8, 30), PARIS).astimezone(UTC)
CURVE, MAX_POWER = "courbe_de_charge_consommation", "puissance_conso_max_quotidienne"
ONE_MONTH = SyncOptions(HOME_PDL, hourly_history_months=1)


def _types(meter: Meter, since: int) -> list[str]:
    return [record.type for record in meter.emulator.requests[since:]]


async def _imported() -> Meter:
    """A meter whose history is imported up to the day before yesterday."""
    meter = make_meter(NOW - timedelta(days=1), ONE_MONTH)
    assert (await meter.sync.async_run()).status is RunStatus.OK
    meter.clock.now = NOW
    return meter


async def test_daily_action_reads_one_curve_and_counts_an_attempt() -> None:
    meter = await _imported()
    sent = len(meter.emulator.requests)
    daily = Action(ActionKind.DAILY, ONE_MONTH.pdl, series=(SERIES_CONSUMPTION,))

    result, outcome = await async_fleet_action(NOW, meter.sync, daily, meter.budget)

    assert result.status is RunStatus.OK
    assert _types(meter, sent) == [CURVE], "no max power, no back-fill in a daily run"
    assert outcome.got_yesterday
    assert not outcome.failed
    assert not outcome.refused
    assert attempts_on(meter.sync.state.schedule, TODAY) == 1
    await async_fleet_action(NOW, meter.sync, daily, meter.budget)
    assert attempts_on(meter.sync.state.schedule, TODAY) == 2
    restarted = meter.restarted()
    assert fleet_meter(NOW, restarted.sync).attempts == 2, "saved with the schedule"
    assert fleet_meter(NOW + timedelta(days=1), restarted.sync).attempts == 0
    assert meter.sync.max_power_days is not None, "the engine's own knobs are put back"
    assert meter.sync.curve_series is None


async def test_max_power_and_backfill_actions() -> None:
    meter = await _imported()
    sent = len(meter.emulator.requests)
    max_power = Action(ActionKind.MAX_POWER, ONE_MONTH.pdl, max_power_days=8)
    await async_fleet_action(NOW, meter.sync, max_power, meter.budget)
    assert _types(meter, sent) == [MAX_POWER]
    assert attempts_on(meter.sync.state.schedule, TODAY) == 0, "not a daily-data attempt"
    assert fleet_meter(NOW, meter.sync).max_power_on == TODAY

    # Forget a week of hourly days: back-fill sends at most its grant.
    state = meter.sync.state.series_state(SERIES_CONSUMPTION)
    state.ledger = state.ledger.drop_before(TODAY - timedelta(days=2))
    assert meter.sync.backfill_pending()
    sent = len(meter.emulator.requests)
    backfill = Action(ActionKind.BACKFILL, ONE_MONTH.pdl, grant=1)
    result, outcome = await async_fleet_action(NOW, meter.sync, backfill, meter.budget)
    assert result.requests == 1
    assert _types(meter, sent) == [CURVE]
    assert not outcome.refused


async def test_a_new_meter_is_known_as_not_imported() -> None:
    meter = make_meter(NOW, ONE_MONTH)
    known = fleet_meter(NOW, meter.sync)
    assert known.pdl == ONE_MONTH.pdl
    assert not known.imported
    assert known.fresh_on is None
    assert known.attempts == 0
