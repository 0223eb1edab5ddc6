"""The sync engine without Home Assistant: the in-process emulator behind a real client, a
dict sink that applies write plans like the recorder, a settable clock.

Each test checks what the engine stores against the emulator's ground truth and what it
asks for against the emulator's request log.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from conso_emulator import HOME_PDL, Fault
from custom_components.linky.conso.errors import ErrorKind
from custom_components.linky.energy.hourly import day_hours, local_day_bounds
from custom_components.linky.energy.ledger import DayData, Resolution
from custom_components.linky.localtime import PARIS
from custom_components.linky.sync.engine import MAX_GAP_ATTEMPTS
from custom_components.linky.sync.model import RunStatus, SyncOptions
from custom_components.linky.sync.state import ErrorInfo, SyncState

from .helpers import Meter, make_meter

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=PARIS).astimezone(UTC)
TODAY = date(2026, 11, 20)
DAILY = "consommation_quotidienne"
CURVE = "courbe_de_charge_consommation"
MAX_POWER = "puissance_conso_max_quotidienne"
ONE_MONTH = SyncOptions(HOME_PDL, hourly_history_months=1)


def _starts(meter: Meter, kind: str) -> list[str]:
    return [r.params["dateDebut"] for r in meter.emulator.requests if r.type == kind]


def _assert_matches_truth(meter: Meter) -> None:
    """Every stored day equals the truth: hour by hour (HOURLY) or as a total (DAILY)."""
    ledger = meter.sync.state.series_state("consumption").ledger
    hours = meter.sink.hours("consumption")
    truth = meter.emulator.truth
    assert ledger.days()
    for day in ledger.days():
        record = ledger.get(day)
        assert record is not None
        if record.resolution is Resolution.HOURLY:
            start, end = local_day_bounds(day)
            expected = truth.hourly_wh(HOME_PDL, False, start, end)
            assert {hour: hours[hour] for hour in day_hours(day)} == pytest.approx(
                {hour: wh / 1000 for hour, wh in expected.items()}
            ), day
        else:
            assert hours[local_day_bounds(day)[0]] == pytest.approx(
                truth.daily_wh(HOME_PDL, False, day) / 1000
            ), day
    meter.sink.assert_exact("consumption")


async def test_first_run_daily_history_then_hourly_newest_first() -> None:
    """The first run imports 36 months of daily values newest first, the last 7 days of
    load curve and max power, then back-fills the hourly month newest first; everything
    stored equals the truth with exact sums."""
    meter = make_meter(NOW, ONE_MONTH)
    result = await meter.sync.async_run()

    assert result.status is RunStatus.OK
    assert result.requests == len(meter.emulator.requests)
    history = _starts(meter, DAILY)[:4]  # 36 months in 365-day calls, before anything else
    assert [r.type for r in meter.emulator.requests[:4]] == [DAILY] * 4
    assert history == sorted(history, reverse=True)
    assert history[-1] == "2023-11-20"
    curve = _starts(meter, CURVE)
    assert curve[0] == (TODAY - timedelta(days=7)).isoformat()  # the daily refresh
    assert curve[1:] == sorted(curve[1:], reverse=True)  # back-fill, newest first
    assert _starts(meter, MAX_POWER) == [(TODAY - timedelta(days=7)).isoformat()]
    types = [r.type for r in meter.emulator.requests]
    assert types.index(MAX_POWER) < types.index(CURVE, types.index(MAX_POWER))
    assert not meter.sync.backfill_pending()
    assert meter.sync.backfill_progress() == 1.0
    assert meter.sync.state.latest_max_power is not None
    _assert_matches_truth(meter)


async def test_budget_reserve_stops_backfill_and_next_runs_finish() -> None:
    """Back-fill stops when the shared budget is down to its reserve (the run still ends
    OK); later runs, as the rolling window frees requests, finish it; the cap holds."""
    meter = make_meter(NOW, ONE_MONTH, cap=18, reserve=10)
    result = await meter.sync.async_run()
    assert result.status is RunStatus.OK
    assert meter.budget.remaining == 10
    assert meter.sync.backfill_pending()
    progress = meter.sync.backfill_progress()
    assert 0 < progress < 1

    runs = 1
    while meter.sync.backfill_pending():
        meter.clock.advance(timedelta(hours=12, minutes=1))
        result = await meter.sync.async_run(daily=False)
        assert result.status is RunStatus.OK
        runs += 1
        assert runs < 10
    sent = sorted(r.time for r in meter.emulator.requests)
    for index, first in enumerate(sent):
        in_window = [t for t in sent[index:] if t < first + timedelta(hours=12)]
        assert len(in_window) <= 18
    _assert_matches_truth(meter)


async def test_budget_exhausted_ends_the_run_without_counting_a_request() -> None:
    """A budget that refuses the next request ends the run with BUDGET and its retry time;
    the refused call is not counted as sent and not recorded as an error."""
    meter = make_meter(NOW, ONE_MONTH, cap=2, reserve=0)
    result = await meter.sync.async_run()
    assert result.status is RunStatus.BUDGET
    assert result.requests == 2 == len(meter.emulator.requests)
    assert result.retry_at == NOW + timedelta(hours=12)
    assert meter.sync.state.last_error is None


async def test_missing_day_given_up_after_three_days(monkeypatch: pytest.MonkeyPatch) -> None:
    """A day Enedis never publishes is asked again on later days, then given up: it then
    counts as done and back-fill stops asking for it."""
    meter = make_meter(NOW, ONE_MONTH)
    truth = meter.emulator.truth
    day = TODAY - timedelta(days=12)
    never = truth.is_missing
    monkeypatch.setattr(truth, "is_missing", lambda pdl, other: other == day or never(pdl, other))
    for attempt in range(MAX_GAP_ATTEMPTS):
        result = await meter.sync.async_run()
        assert result.status is RunStatus.OK
        state = meter.sync.state.series_state("consumption")
        if attempt < MAX_GAP_ATTEMPTS - 1:
            assert state.attempts[day] == attempt + 1
            assert day not in state.given_up
        meter.clock.advance(timedelta(days=1))
    state = meter.sync.state.series_state("consumption")
    assert day in state.given_up
    assert day not in state.attempts
    requests = len(meter.emulator.requests)
    await meter.sync.async_run(daily=False)
    assert len(meter.emulator.requests) == requests  # nothing left to ask
    assert meter.sync.backfill_progress() == 1.0


async def test_late_day_healed_with_exact_sums() -> None:
    """A day published three days late is missing at first, then stored by the daily
    refresh that re-reads the last 7 days; every later sum is adjusted exactly."""
    meter = make_meter(NOW, ONE_MONTH)
    truth = meter.emulator.truth
    late = next(
        day
        for day in truth.late_days(HOME_PDL, TODAY - timedelta(days=200), TODAY)
        if not truth.is_missing(HOME_PDL, day + timedelta(days=1))
    )
    meter.clock.move_to_local(late + timedelta(days=1), time(9, 30))
    await meter.sync.async_run()
    assert not meter.sync.has_day("consumption", late)
    meter.clock.move_to_local(late + timedelta(days=3), time(9, 30))
    await meter.sync.async_run()
    assert meter.sync.has_day("consumption", late)
    _assert_matches_truth(meter)


async def test_restart_from_saved_state_resumes() -> None:
    """A restart reads the saved state back: no second daily-history import, the back-fill
    goes on where it stopped, and what is stored stays exact."""
    meter = make_meter(NOW, ONE_MONTH, cap=18, reserve=10)
    await meter.sync.async_run()
    assert meter.sync.backfill_pending()
    history = {(r.params["dateDebut"], r.params["dateFin"]) for r in meter.emulator.requests[:4]}
    meter = meter.restarted()
    meter.clock.advance(timedelta(hours=13))
    sent = len(meter.emulator.requests)
    while meter.sync.backfill_pending():
        await meter.sync.async_run(daily=False)
        meter.clock.advance(timedelta(hours=13))
    later = meter.emulator.requests[sent:]
    assert later
    assert not history & {(r.params["dateDebut"], r.params["dateFin"]) for r in later}
    _assert_matches_truth(meter)


@pytest.mark.parametrize(
    ("fault", "status", "kind"),
    [
        (Fault(status=500), RunStatus.FAILED, ErrorKind.SERVER),
        (Fault(status=502), RunStatus.FAILED, ErrorKind.SERVER),
        (Fault(status=429), RunStatus.BUDGET, ErrorKind.RATE_LIMITED),
        (Fault(status=403), RunStatus.BANNED, ErrorKind.BANNED),
    ],
)
async def test_errors_end_the_run_with_their_outcome(
    fault: Fault, status: RunStatus, kind: ErrorKind
) -> None:
    """An error ends the run at once with the outcome of its kind, remembered as the last
    error; the next successful run clears it."""
    meter = make_meter(NOW, ONE_MONTH)
    meter.emulator.faults.push(fault)
    result = await meter.sync.async_run()
    assert result.status is status
    assert result.requests == 1
    assert meter.sync.state.last_error is not None
    assert meter.sync.state.last_error.kind is kind
    if status is RunStatus.BUDGET:
        assert result.retry_at is not None
    if status is RunStatus.FAILED:
        meter.clock.advance(timedelta(hours=1))
        result = await meter.sync.async_run()
        assert result.status is RunStatus.OK
        assert meter.sync.state.last_error is None


async def test_no_consent_is_its_own_outcome() -> None:
    """Enedis without consent for the meter (ADAM-DC-0008) means reauthentication."""
    meter = make_meter(NOW, ONE_MONTH)
    meter.emulator.meters[HOME_PDL].consent = False
    result = await meter.sync.async_run()
    assert result.status is RunStatus.NO_CONSENT
    assert meter.sync.state.last_error is not None
    assert meter.sync.state.last_error.kind is ErrorKind.NO_CONSENT


def test_saved_error_of_version_0_1_0_reads_as_its_kind() -> None:
    """Version 0.1.0 stored the error's class name: it reads back as the kind."""
    saved = {
        "last_error": {
            "kind": "ConsoApiServerError",
            "message": "Erreur technique",
            "at": "2026-11-20T08:30:00+00:00",
            "status": 500,
            "code": "technical_error",
        }
    }
    error = SyncState.from_dict(saved).last_error
    assert error == ErrorInfo(ErrorKind.SERVER, "Erreur technique", NOW, 500, "technical_error")
    assert SyncState.from_dict(SyncState(last_error=error).as_dict()).last_error == error
    assert ErrorInfo.from_dict({**saved["last_error"], "kind": "Whatever"}).kind is (  # type: ignore[union-attr]
        ErrorKind.UNKNOWN
    )


async def test_imported_days_are_never_asked_and_never_replace_the_apis() -> None:
    """Days stored from elsewhere (a file, another tool) are done: the back-fill of the
    hourly month asks no window made only of them, and an import never replaces what the
    API stored hour by hour; it does replace a daily total with hours."""
    meter = make_meter(NOW, ONE_MONTH)
    truth = meter.emulator.truth
    month = [TODAY - timedelta(days=n) for n in range(8, 32)]  # the back-filled part
    hourly = []
    for day in month:
        start, end = local_day_bounds(day)
        hours = truth.hourly_wh(HOME_PDL, False, start, end)
        hourly.append(DayData.hourly(day, hours))
    written = await meter.sync.async_import("consumption", hourly)
    assert written == sorted(month)
    result = await meter.sync.async_run()
    assert result.status is RunStatus.OK
    curve = _starts(meter, CURVE)
    assert curve == [(TODAY - timedelta(days=7)).isoformat()]  # the daily refresh only
    _assert_matches_truth(meter)

    stored = meter.sync.state.series_state("consumption").ledger
    day = TODAY - timedelta(days=3)  # stored hour by hour by the daily refresh
    assert await meter.sync.async_import("consumption", [DayData.daily(day, 1.0)]) == []
    assert (
        await meter.sync.async_import(
            "consumption", [DayData.hourly(day, dict.fromkeys(day_hours(day), 1.0))]
        )
        == []
    )
    assert meter.sync.state.series_state("consumption").ledger.get(day) == stored.get(day)
    old = TODAY - timedelta(days=200)  # a daily total from the first import
    record = stored.get(old)
    assert record is not None
    assert record.resolution is Resolution.DAILY
    start, end = local_day_bounds(old)
    upgraded = DayData.hourly(old, truth.hourly_wh(HOME_PDL, False, start, end))
    assert await meter.sync.async_import("consumption", [upgraded]) == [old]
    _assert_matches_truth(meter)
