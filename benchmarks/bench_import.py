"""Import-path benchmarks against a real recorder (SQLite in a temporary directory).

Run by `scripts/bench` (through `python -m benchmarks`) with the integration tests' fixtures
(see `conftest.py`); the file name does not match `test_*.py` and it lives outside `tests/`,
so `scripts/test` never collects it.

Conditions are made close to production: the recorder writes to an SQLite file, logging is
at Home Assistant's default level (the harness logs every SQL statement), the event loop is
not in debug mode (the harness's debug mode records a stack per callback), and the emulator
is served from its own thread and event loop, so the blocks measured on Home Assistant's
loop are the integration's (plus the GIL shared with the recorder), not the emulator's.
Only `test_complete_backfill` freezes time (to move through a day and more of scheduled
runs); freezegun makes every clock read much slower, so its timings are only indicative.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
import cProfile
from datetime import date, datetime, timedelta
import io
import logging
import pstats
import threading
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.statistics import statistics_during_period
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from benchmarks.cpu import (
    NOW,
    backfill_plans,
    best_of,
    build_corpus,
    daily_days,
    daily_ledger,
    median_total,
    run_pipeline,
    traced_peak_bytes,
    window_days,
)
from benchmarks.measure import BLOCKERS, OPTIONS, RESULTS, LoopMonitor, real_seconds
from conso_emulator import HOME_PDL, PV_PDL, Emulator, EmulatorServer
from custom_components.linky.conso import ConsoApiClient, RequestBudget
from custom_components.linky.conso.models import MeasureType
from custom_components.linky.conso.planner import minus_months, plan_requests
from custom_components.linky.coordinator import LinkyCoordinator
from custom_components.linky.energy.ledger import Resolution, SeriesLedger, WritePlan, plan_write
from custom_components.linky.localtime import PARIS
from custom_components.linky.statistics import RecorderSink, statistic_id
from custom_components.linky.sync.engine import MeterSync
from custom_components.linky.sync.model import RunResult, RunStatus, SyncOptions
from custom_components.linky.sync.state import SyncState

MAX_RUNS = 60
QUIET_LOGGERS = ("", "sqlalchemy.engine")


@pytest.fixture
def persistent_database() -> bool:
    """The recorder's SQLite database is a file in a temporary directory, as in production
    (the test default is in memory)."""
    return True


@pytest.fixture(autouse=True)
def production_log_levels() -> Iterator[None]:
    """Log at Home Assistant's default level (the test harness logs every SQL statement,
    which would dominate the timings)."""
    levels = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture
async def enable_event_loop_debug() -> None:
    """Replaces the harness's fixture of that name: the loop runs as in production."""
    asyncio.get_running_loop().set_debug(False)


@contextmanager
def served_in_thread(emulator: Emulator) -> Iterator[str]:
    """Serve `emulator` on 127.0.0.1 from a thread with its own event loop; yield its URL."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="emulator", daemon=True)
    thread.start()
    server = EmulatorServer(emulator, host="127.0.0.1", port=0)
    try:
        asyncio.run_coroutine_threadsafe(server.start(), loop).result(30)
        yield server.base_url
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(30)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


@pytest.fixture
def emulator_url(emulator: Emulator, socket_enabled: None) -> Iterator[str]:
    """The emulator fixture's server, in its own thread (replaces the integration tests')."""
    with served_in_thread(emulator) as url:
        yield url


async def test_parse_aggregate_cpu() -> None:
    """CPU time to parse and aggregate 24 months of load curve (see `benchmarks.cpu`)."""
    corpus = build_corpus()
    ledger = daily_ledger(corpus)
    runs = best_of(corpus, ledger, OPTIONS["repeats"])
    best = runs[0]
    RESULTS.update(
        cpu_total_s=best.total_s,
        cpu_median_s=median_total(runs),
        cpu_json_s=best.json_s,
        cpu_parse_s=best.parse_s,
        cpu_hourly_s=best.hourly_s,
        cpu_plan_s=best.plan_s,
        points=best.points,
        days=best.days,
        rows=best.rows,
        bodies=len(corpus.curve_bodies),
        cpu_traced_peak=traced_peak_bytes(corpus, ledger),
    )
    if OPTIONS["profile"]:
        profiler = cProfile.Profile()
        profiler.runcall(run_pipeline, corpus, ledger)
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(20)
        RESULTS["cpu_profile"] = out.getvalue()


async def _stored_rows(hass: HomeAssistant, stat_id: str) -> int:
    await async_wait_recording_done(hass)
    stats = await get_instance(hass).async_add_executor_job(
        statistics_during_period,
        hass,
        datetime(2020, 1, 1, tzinfo=PARIS),
        None,
        {stat_id},
        "hour",
        None,
        {"state"},
    )
    return len(stats.get(stat_id, []))


async def _timed_writes(
    hass: HomeAssistant, sink: RecorderSink, plans: list[WritePlan]
) -> tuple[float, float, LoopMonitor]:
    """Queue the plans, then wait for the recorder: (queueing s, until written s, monitor)."""
    with LoopMonitor(asyncio.get_running_loop()) as monitor:
        started = real_seconds()
        for plan in plans:
            await sink.async_write("consumption", plan)
        queued = real_seconds()
        await async_wait_recording_done(hass)
        done = real_seconds()
    return queued - started, done - started, monitor


async def test_recorder_write(recorder_mock: Recorder, hass: HomeAssistant) -> None:
    """Write 24 months of hourly rows to the recorder, in bulk and as the back-fill does."""
    corpus = build_corpus()
    first_import = plan_write(SeriesLedger(), daily_days(corpus))
    windows = window_days(corpus)
    backfill = backfill_plans(windows, first_import.ledger_after)
    bulk = plan_write(SeriesLedger(), [day for days in windows for day in days])

    # All 24 months at once into an empty series.
    queue_s, total_s, monitor = await _timed_writes(hass, RecorderSink(hass, PV_PDL), [bulk])
    assert await _stored_rows(hass, statistic_id(PV_PDL, "consumption")) == len(bulk.rows)
    RESULTS["bulk_rows"] = len(bulk.rows)
    RESULTS["bulk_queue_s"] = queue_s
    RESULTS["bulk_write_s"] = total_s
    RESULTS["bulk_max_block_s"] = monitor.max_block_s
    BLOCKERS["bulk write"] = monitor.blockers
    RESULTS["bulk_rss_growth"] = monitor.peak_rss_growth

    # As the integration does it: the daily first import, then one plan per 7-day window.
    plans = [first_import, *backfill]
    queue_s, total_s, monitor = await _timed_writes(hass, RecorderSink(hass, HOME_PDL), plans)
    final = backfill[-1].ledger_after
    daily_left = len(final.days_with_resolution(Resolution.DAILY, date.min, date.max))
    stored = await _stored_rows(hass, statistic_id(HOME_PDL, "consumption"))
    assert stored == len(bulk.rows) + daily_left
    RESULTS["backfill_plans"] = len(plans)
    RESULTS["backfill_rows"] = sum(len(plan.rows) for plan in plans)
    RESULTS["backfill_adjustments"] = sum(len(plan.adjustments) for plan in plans)
    RESULTS["backfill_queue_s"] = queue_s
    RESULTS["backfill_write_s"] = total_s
    RESULTS["backfill_max_block_s"] = monitor.max_block_s
    BLOCKERS["back-fill writes"] = monitor.blockers


@pytest.mark.freeze_time(NOW)
async def test_complete_backfill(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    emulator: Emulator,
    config_entry: MockConfigEntry,
) -> None:
    """The whole integration imports one PDL (36 months daily, 24 months hourly) from the
    emulator, time moving from one scheduled run to the next, until nothing is pending."""
    runs = 0
    original_run = MeterSync.async_run

    async def counted_run(
        sync: MeterSync, *, daily: bool = True, backfill: bool = True
    ) -> RunResult:
        nonlocal runs
        runs += 1
        return await original_run(sync, daily=daily, backfill=backfill)

    async def pace(seconds: float) -> None:  # waiting for the 5/s pace moves frozen time
        freezer.tick(seconds)

    started_at = dt_util.utcnow()
    with (
        patch("custom_components.linky.instance._async_pace_sleep", pace),
        patch.object(MeterSync, "async_run", counted_run),
        LoopMonitor(asyncio.get_running_loop()) as monitor,
    ):
        wall = real_seconds()
        config_entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(config_entry.entry_id)
        await hass.async_block_till_done(wait_background_tasks=True)
        assert config_entry.state is ConfigEntryState.LOADED
        coordinator: LinkyCoordinator = config_entry.runtime_data.coordinator
        sync = coordinator.sync
        assert sync is not None
        for _ in range(MAX_RUNS):
            if not sync.backfill_pending():
                break
            assert coordinator.next_run is not None, sync.state.last_error
            freezer.move_to(coordinator.next_run + timedelta(seconds=1))
            async_fire_time_changed(hass)
            await hass.async_block_till_done(wait_background_tasks=True)
        else:
            pytest.fail(f"back-fill still pending after {MAX_RUNS} runs")
        await async_wait_recording_done(hass)
        wall = real_seconds() - wall

    assert coordinator.api.banned_at is None
    sent = emulator.requests
    by_type = Counter(record.type for record in sent)
    today = started_at.astimezone(PARIS).date()
    daily_calls = len(
        plan_requests(MeasureType.CONSUMPTION_DAILY, minus_months(today, 36), today, today)
    )
    curve_calls = len(
        plan_requests(MeasureType.CONSUMPTION_LOAD_CURVE, minus_months(today, 24), today, today)
    )
    RESULTS["requests"] = len(sent)
    RESULTS["requests_by_type"] = ", ".join(f"{kind} {n}" for kind, n in sorted(by_type.items()))
    RESULTS["requests_floor"] = daily_calls + curve_calls + 1  # + one max-power call
    RESULTS["requests_not_200"] = sum(1 for record in sent if record.status != 200)
    RESULTS["runs"] = runs
    RESULTS["simulated_days"] = (sent[-1].time - sent[0].time) / timedelta(days=1)
    RESULTS["cap"] = coordinator.api.budget.cap
    RESULTS["hourly_progress"] = sync.backfill_progress()
    RESULTS["frozen_import_wall_s"] = wall
    RESULTS["frozen_import_max_block_s"] = monitor.max_block_s


async def test_import_real_clock(
    recorder_mock: Recorder, hass: HomeAssistant, socket_enabled: None
) -> None:
    """The import path at full speed on the real clock: `MeterSync` with the recorder sink,
    HA's aiohttp session and the emulator on 127.0.0.1, without a request cap (one run)."""
    emulator = Emulator(now=lambda: NOW)
    token = emulator.mint_token([HOME_PDL], issued_at=NOW - timedelta(days=30))
    with served_in_thread(emulator) as url:
        client = ConsoApiClient(
            async_get_clientsession(hass),
            token,
            base_url=url,
            budget=RequestBudget(cap=10_000, max_per_second=10_000),
        )
        sink = RecorderSink(hass, HOME_PDL)
        sync = MeterSync(
            client, SyncOptions(HOME_PDL), SyncState(), sink, lambda: NOW, backfill_reserve=0
        )
        with LoopMonitor(asyncio.get_running_loop()) as monitor:
            started = real_seconds()
            result = await sync.async_run()
            fetched = real_seconds()
            await async_wait_recording_done(hass)
            done = real_seconds()
    assert result.status is RunStatus.OK, result
    assert not sync.backfill_pending()
    RESULTS["real_requests"] = len(emulator.requests)
    RESULTS["real_fetch_s"] = fetched - started
    RESULTS["real_import_s"] = done - started
    RESULTS["real_max_block_s"] = monitor.max_block_s
    RESULTS["real_p99_block_s"] = monitor.p99_block_s
    RESULTS["real_rss_growth"] = monitor.peak_rss_growth
    RESULTS["real_monitor_samples"] = monitor.samples
    BLOCKERS["import (real clock)"] = monitor.blockers
