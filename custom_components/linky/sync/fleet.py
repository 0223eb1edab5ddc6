"""The fleet policy (issue 15): when the meters of one API host may spend requests.

HA-free (imports only `localtime` and `const`): one fleet-level scheduler per API host
instead of one timer per coordinator. It only decides; the caller runs the actions with each
meter's `MeterSync` and reports the outcome (`FleetPolicy.done`). Conso API asks each client
for one request a day between 06:00 and 10:00 at a non-round time, one retry early in the
afternoon if that gave nothing, then to wait for the next day. The rules, by priority:

1. **At most 2 daily-data attempts per meter per local day** (daily run + one retry): every
   PROBE, DAILY or FIRST_IMPORT not refused by the budget counts (`FleetMeter.attempts`,
   restored by the caller after a restart); a meter at 2 waits for tomorrow (whose 7-day
   window brings both days). A daily run reads the last 7 days of the consumption load curve
   only (no max power, no production: see 5).
2. **Probes of publication at the installation's times.** Yesterday comes for every meter
   at about the same time. Until a meter has found it today, at most one stale meter runs
   at each probe time (`FleetConfig.probe_times`: 8 from 07:45 to 09:45, then 13:30 and
   17:00, all shifted by 0-10 minutes and 1-59 seconds from sha256(`seed`): no round time,
   no two installations together). With `k` stale imported meters at the start of the day
   only the last `min(k, 8)` morning times are used (one meter probes once, 09:45-09:55).
   A morning probe is a meter's first attempt (the longest without data first, then a
   rotation that moves every day); an afternoon probe takes a first attempt if one is left,
   else a retry. Probe times missed (a restart, a pause) are caught up once; no morning
   probe after 10:00 (the burst after the last one may end up to ~15 minutes past it).
3. **The burst.** Once a meter finds yesterday, every other stale meter gets a slot
   `settle` later, `spread` apart (the longest without data first, then the day's rotation,
   new meters last). For a meter that probed it is its retry. A meter that misses in the
   burst retries once, at the next afternoon probe time at least `miss_retry` later. Nothing
   daily after `cutoff` (20:00). A run that would not fit in the cap waits for room.
4. **One failure pauses the fleet** for 5 minutes, doubled at each failure in a row up to
   2 hours; it is the meter's attempt (a failed burst run retries after the pause if one is
   left). A budget refusal waits until a request leaves the window (not an attempt).
5. **Max power every `max_power_every` days** (one request for the days since the last
   fetch, plus one) and **production's load curve every `production_every` days**: both
   background work (6).
6. **Background work under a reserve sized for the daily runs**: first imports of new
   meters when there is room for all their requests (3 of daily history, the load curve;
   otherwise in the next burst, last), then overdue max power and production, then back-fill
   and gap healing, one 7-day window per meter in round robin. It goes only while it leaves
   room, in every rolling window that will hold a daily run, for the daily runs still to
   come (`FleetPolicy.allowance`).

The request budget (`conso.budget.RequestBudget`) stays the hard guard.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
import hashlib

from ..const import SERIES_CONSUMPTION, SERIES_PRODUCTION
from ..localtime import PARIS, local_date

MAX_POWER_MAX_DAYS = 60
"""The engine keeps 60 days of max power: never ask for more."""


class ActionKind(StrEnum):
    """What an action does."""

    PROBE = "probe"  # a stale meter's daily run while yesterday's publication is not seen
    DAILY = "daily"  # a stale meter's daily run once it is
    FIRST_IMPORT = "first_import"  # a new meter: daily history, its daily run, max power
    MAX_POWER = "max_power"
    PRODUCTION = "production"  # the last 7 days of the production load curve
    BACKFILL = "backfill"  # gap healing and back-fill, `grant` windows


DAILY_KINDS = frozenset({ActionKind.PROBE, ActionKind.DAILY, ActionKind.FIRST_IMPORT})


def _at(day: date, clock: time) -> datetime:
    return datetime.combine(day, clock, PARIS)


def probe_offset(seed: str) -> timedelta:
    """The installation's shift of every probe time: 0 to 9 minutes and 1 to 59 seconds,
    from sha256(`seed`) (never a round time, the same across restarts)."""
    value = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big")
    return timedelta(minutes=value % 10, seconds=1 + (value // 10) % 59)


PROBE_TIMES = "07:45 08:00 08:15 08:30 08:45 09:05 09:25 09:45 13:30 17:00"
"""The probe times before the installation's offset (8 in the morning, 2 in the afternoon)."""


@dataclass(frozen=True, slots=True)
class FleetConfig:
    """The policy's constants (times are Europe/Paris, before the installation's offset)."""

    probe_times: tuple[time, ...] = tuple(map(time.fromisoformat, PROBE_TIMES.split()))
    morning_end: time = time(10, 0)
    """Probe times before this are morning probes (first attempts only, never after it)."""
    earliest: time = time(7, 45)  # no probe before this, whatever the offset
    max_attempts: int = 2  # daily-data attempts per meter per day: daily run + one retry
    settle: timedelta = timedelta(minutes=10)
    """From the first meter finding yesterday to the burst (others' may come later)."""
    spread: timedelta = timedelta(seconds=10)  # between two meters' runs in the burst
    miss_retry: timedelta = timedelta(minutes=20)
    """A burst miss retries at the next afternoon probe time at least this later."""
    cutoff: time = time(20, 0)  # no daily run after this (tomorrow's window brings both days)
    max_power_every: int = 7
    production_every: int = 3
    probe_reserve: int = 3
    """Unsuccessful probes kept in the reserve while publication is not seen."""
    safety: int = 2
    """Requests never planned: a partial day's daily fallback, a failure's request."""
    first_import_cost: int = 4
    """A new meter's first run: 3 requests of daily history, then its load curve."""
    failure_pause: timedelta = timedelta(minutes=5)
    max_failure_pause: timedelta = timedelta(hours=2)
    tick: timedelta = timedelta(minutes=5)  # background work waiting for room: looked again


@dataclass(frozen=True, slots=True)
class Action:
    """One run of one meter's engine."""

    kind: ActionKind
    pdl: str
    grant: int = 1
    """Requests the run may send (back-fill windows); a first import sends more."""
    series: tuple[str, ...] = ()
    """Series whose last 7 days the run reads (`MeterSync` daily refresh)."""
    max_power_days: int | None = None
    """Days of max power the run asks for, ending yesterday (None: none)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a run gave."""

    got_yesterday: bool  # yesterday's consumption is stored after the run
    failed: bool = False  # the run ended on a server or connection error
    refused: bool = False  # the request budget refused a request (nothing sent)


@dataclass(slots=True)
class FleetMeter:
    """What the policy knows of one meter."""

    pdl: str
    production: bool = False
    imported: bool = True  # False: the first import (daily history) is still to do
    fresh_on: date | None = None  # the local day yesterday's consumption was last obtained
    misses: int = 0  # daily runs today that did not find yesterday
    due_at: datetime | None = None
    max_power_on: date | None = None
    production_on: date | None = None
    attempts: int = 0
    """Daily-data attempts today (probe, daily run, first import; not refused by the
    budget). The caller restores today's count after a restart; reset at the day roll."""


class FleetPolicy:
    """Decides which meter sends what, and when, for every meter sharing one budget."""

    def __init__(
        self, cap: int, window: timedelta = timedelta(hours=12), config: FleetConfig | None = None,
        *, seed: str = "",
    ) -> None:  # fmt: skip
        """`cap` requests per rolling `window`: the shared `RequestBudget`'s. `seed`
        (e.g. the instance's id) shifts the probe times (`probe_offset`)."""
        self.cap = cap
        self.window = window
        self.config = config = config or FleetConfig()
        offset = probe_offset(seed)
        self.probe_times = tuple(
            (datetime.combine(date(2000, 1, 1), clock) + offset).time()
            for clock in config.probe_times
        )
        """Today's probe times for this installation (sorted)."""
        self.morning = sum(clock < config.morning_end for clock in config.probe_times)
        """How many of `probe_times` are morning probes."""
        last_morning = self.probe_times[self.morning - 1] if self.morning else config.earliest
        if self.probe_times[0] < config.earliest or last_morning >= config.morning_end:
            raise ValueError(f"Probe times out of bounds: {self.probe_times}")
        self.meters: dict[str, FleetMeter] = {}
        self._day: date | None = None
        self.published_at: datetime | None = None
        """When a meter first found yesterday today (None: not yet)."""
        self._probe_next = 0  # the first probe time not used nor skipped today
        self._probe_from: int | None = None  # the first one used today, once a probe went
        self._probing: int | None = None  # the probe time of the probe under way
        self._pause_until: datetime | None = None
        self._pause = config.failure_pause
        self._round_robin = 0

    def add_meter(self, meter: FleetMeter) -> None:
        """A meter joins the fleet (an entry set up) with today's `attempts`."""
        self.meters[meter.pdl] = meter

    def remove_meter(self, pdl: str) -> None:
        """A meter leaves the fleet (an entry unloaded)."""
        self.meters.pop(pdl, None)

    # --- the day --------------------------------------------------------------------------

    def _roll(self, now: datetime) -> date:
        today = local_date(now)
        if today != self._day:
            new_day = self._day is not None  # the first day keeps the restored attempts
            self._day = today
            self.published_at = None
            self._probe_next, self._probe_from, self._probing = 0, None, None
            for meter in self.meters.values():
                meter.misses, meter.due_at = 0, None
                if new_day:
                    meter.attempts = 0
        return today

    def first_probe(self, day: date) -> datetime:
        """When daily runs may start on `day`."""
        return _at(day, self.probe_times[0])

    def rotation(self, day: date) -> list[FleetMeter]:
        """Every meter, in the day's order (the start moves by one every day)."""
        pdls = sorted(self.meters)
        if not pdls:
            return []
        shift = day.toordinal() % len(pdls)
        return [self.meters[pdl] for pdl in pdls[shift:] + pdls[:shift]]

    def stale(self, day: date) -> list[FleetMeter]:
        """The meters whose yesterday is still to fetch on `day` with an attempt left: the
        imported ones first, the longest without data first, then the day's order; new
        meters (first import) last."""
        rotation, most = self.rotation(day), self.config.max_attempts
        stale = [meter for meter in rotation if meter.fresh_on != day and meter.attempts < most]
        rank = {meter.pdl: index for index, meter in enumerate(rotation)}
        return sorted(
            stale,
            key=lambda meter: (not meter.imported, meter.fresh_on or date.min, rank[meter.pdl]),
        )

    def cost(self, meter: FleetMeter) -> int:
        """Requests of a meter's daily run: 1, or a first import's."""
        return 1 if meter.imported else self.config.first_import_cost

    # --- the probe times ------------------------------------------------------------------

    def _probe_start(self, today: date) -> int:
        """The first probe time used today: the last `min(k, morning)` morning times for
        `k` stale imported meters without an attempt (fixed once a probe went)."""
        if self._probe_from is not None:
            return self._probe_from
        meters = self.meters.values()
        k = sum(
            meter.imported and meter.fresh_on != today and not meter.attempts for meter in meters
        )
        return self.morning - min(k, self.morning)

    def _probe_slot(self, now: datetime, today: date, *, afternoon: bool = False) -> int | None:
        """The probe time (index) to use now or next: the latest already passed and not
        used (one catch-up for any number missed), else the next; the morning ones only
        before `morning_end` and unless `afternoon`. None: no more today."""
        times = self.probe_times
        index = max(self._probe_start(today), self._probe_next)
        if afternoon or now >= _at(today, self.config.morning_end):
            index = max(index, self.morning)
        while index + 1 < len(times) and _at(today, times[index + 1]) <= now:
            index += 1
        return index if index < len(times) else None

    def _prober(self, index: int, probes: list[FleetMeter]) -> FleetMeter | None:
        """Who probes at probe time `index`: a first attempt, else (afternoon) a retry."""
        first = [meter for meter in probes if meter.attempts == 0]
        if first:
            return first[0]
        return probes[0] if probes and index >= self.morning else None

    def _retry_at(self, now: datetime, today: date) -> datetime:
        """A burst miss's retry: the next afternoon probe time `miss_retry` from now."""
        earliest = now + self.config.miss_retry
        for clock in self.probe_times[self.morning :]:
            if (when := _at(today, clock)) >= earliest:
                return when
        return earliest

    def expected_run(self, pdl: str, now: datetime) -> datetime | None:
        """The earliest time the meter may run its daily run next (a "next run" sensor):
        its slot in the burst, else the next probe time it may take while it is stale,
        else tomorrow's first probe time. None: an unknown meter."""
        meter = self.meters.get(pdl)
        if meter is None:
            return None
        config = self.config
        today = self._roll(now)
        tomorrow = self.first_probe(today + timedelta(days=1))
        if meter.fresh_on == today or meter.attempts >= config.max_attempts:
            return tomorrow
        if not meter.imported:
            return now  # a first import goes as soon as the budget leaves room for it
        if now >= _at(today, config.cutoff):
            return tomorrow
        if meter.due_at is not None:
            return max(meter.due_at, now)
        if self.published_at is not None:
            return now
        index = self._probe_slot(now, today, afternoon=meter.attempts > 0)
        if index is None:
            return tomorrow
        return max(_at(today, self.probe_times[index]), now)

    # --- the reserve ----------------------------------------------------------------------

    def allowance(self, now: datetime, sent: Sequence[datetime]) -> int:
        """How many background requests may go now (may be negative). `sent`: the send
        times in the budget's rolling window, sorted. Daily runs still to come count at the
        earliest moment they may happen (the worst case for the windows holding them):
        today's stale meters (+ `probe_reserve` while publication is unseen) until the
        cutoff; tomorrow's (every meter + the probe reserve) in the window ending at
        tomorrow's first probe, once now is within `window` of it. `safety` never planned."""
        config = self.config
        today = self._roll(now)

        def sent_after(instant: datetime) -> int:
            return len(sent) - bisect.bisect_right(sent, instant)

        limit = self.cap - config.safety
        allowed = limit - sent_after(now - self.window)
        before_cutoff = now < _at(today, config.cutoff)
        pending_today = 0
        if before_cutoff and (stale := self.stale(today)):
            pending_today = sum(map(self.cost, stale))
            pending_today += config.probe_reserve if self.published_at is None else 0
            start = max(now, self.first_probe(today))
            allowed = min(allowed, limit - sent_after(start - self.window) - pending_today)
        tomorrow = self.first_probe(today + timedelta(days=1))
        if now > tomorrow - self.window:
            daily = sum(map(self.cost, self.meters.values())) + config.probe_reserve
            if _at(today, config.cutoff) <= tomorrow - self.window:
                pending_today = 0  # today's runs end before tomorrow's window starts
            allowed = min(
                allowed, limit - sent_after(tomorrow - self.window) - daily - pending_today
            )
        return allowed

    # --- deciding -------------------------------------------------------------------------

    def next_action(
        self,
        now: datetime,
        sent: Sequence[datetime],
        backfill_pending: Callable[[str], bool],
    ) -> Action | datetime:
        """The action to run now, or when to ask again (an action's outcome, a meter
        added, also call for asking again). `sent`: as for `allowance`;
        `backfill_pending(pdl)`: whether the meter's engine has gaps to fetch."""
        config = self.config
        today = self._roll(now)
        wakes = [datetime.combine(today + timedelta(days=1), time(0, 0, 1), PARIS)]
        if self._pause_until is not None and now < self._pause_until:
            return self._pause_until
        in_window = bisect.bisect_right(sent, now - self.window)
        full = len(sent) - in_window >= self.cap
        first = self.first_probe(today)
        if now < first:
            wakes.append(first)
        elif now < _at(today, config.cutoff) and (stale := self.stale(today)):
            probes = [meter for meter in stale if meter.imported]
            if self.published_at is None and probes:
                while (index := self._probe_slot(now, today)) is not None:
                    probe_at = _at(today, self.probe_times[index])
                    if now < probe_at:
                        wakes.append(probe_at)
                        break
                    if (meter := self._prober(index, probes)) is None:
                        self._probe_next = index + 1  # nobody may probe now: the next time
                        continue
                    if full:
                        wakes.append(sent[in_window] + self.window + timedelta(seconds=1))
                        break
                    self._probe_from = self._probe_start(today)
                    self._probe_next = self._probing = index
                    return Action(ActionKind.PROBE, meter.pdl, series=(SERIES_CONSUMPTION,))
            else:
                for meter in stale:
                    if meter.due_at is None:
                        meter.due_at = now
                meter = min(stale, key=lambda meter: meter.due_at or now)
                assert meter.due_at is not None
                if meter.due_at > now:
                    wakes.append(meter.due_at)
                elif len(sent) - in_window + self.cost(meter) > self.cap:
                    wakes.append(sent[in_window] + self.window + timedelta(seconds=1))
                elif meter.imported:
                    return Action(ActionKind.DAILY, meter.pdl, series=(SERIES_CONSUMPTION,))
                else:
                    return self._first_import(meter)
        background = self._background(now, today, sent, backfill_pending)
        if isinstance(background, Action):
            return background
        if background:
            wakes.append(now + config.tick)
        return min(wakes)

    def _background(
        self,
        now: datetime,
        today: date,
        sent: Sequence[datetime],
        backfill_pending: Callable[[str], bool],
    ) -> Action | bool:
        """The background action allowed now, or whether some waits for room."""
        config, allowance, waiting = self.config, self.allowance(now, sent), False
        meters = self.rotation(today)
        for meter in meters:
            if not meter.imported and meter.attempts < config.max_attempts:
                if allowance >= config.first_import_cost:
                    return self._first_import(meter)
                waiting = True
        if waiting:
            return True  # room is kept for the first import (4 requests at once)
        overdue = [
            (self._age(meter.max_power_on, today), meter)
            for meter in meters
            if meter.imported and self._age(meter.max_power_on, today) >= config.max_power_every
        ]
        if overdue:
            age, meter = max(overdue, key=lambda item: item[0])
            if allowance < 1:
                return True
            days = min(MAX_POWER_MAX_DAYS, age + 1)
            return Action(ActionKind.MAX_POWER, meter.pdl, max_power_days=days)
        for meter in meters:
            if meter.imported and meter.production:
                if self._age(meter.production_on, today) < config.production_every:
                    continue
                if allowance < 1:
                    return True
                return Action(ActionKind.PRODUCTION, meter.pdl, series=(SERIES_PRODUCTION,))
        pdls = sorted(pdl for pdl, meter in self.meters.items() if meter.imported)
        for offset in range(len(pdls)):
            index = (self._round_robin + offset) % len(pdls)
            if backfill_pending(pdls[index]):
                if allowance < 1:
                    return True
                self._round_robin = index + 1
                return Action(ActionKind.BACKFILL, pdls[index], grant=1)
        return False

    def _first_import(self, meter: FleetMeter) -> Action:
        cost, series = self.config.first_import_cost, (SERIES_CONSUMPTION,)
        return Action(ActionKind.FIRST_IMPORT, meter.pdl, grant=cost, series=series)

    @staticmethod
    def _age(on: date | None, today: date) -> int:
        return MAX_POWER_MAX_DAYS if on is None else (today - on).days

    # --- outcomes -------------------------------------------------------------------------

    def done(self, action: Action, now: datetime, outcome: Outcome) -> None:
        """Record what an action gave."""
        config = self.config
        today = self._roll(now)
        meter = self.meters.get(action.pdl)
        if meter is None:
            return
        if outcome.failed:
            self._pause_until = now + self._pause
            self._pause = min(self._pause * 2, config.max_failure_pause)
        elif not outcome.refused:
            self._pause = config.failure_pause
        if action.kind in DAILY_KINDS:
            if not outcome.refused:
                meter.attempts += 1
            if action.kind is ActionKind.FIRST_IMPORT and not (outcome.failed or outcome.refused):
                meter.imported = True
            if outcome.got_yesterday:
                meter.fresh_on = today
                meter.due_at = None
                if self.published_at is None:
                    self._published(max(now, self.first_probe(today)), today)
            elif outcome.failed or outcome.refused:
                if action.kind is not ActionKind.PROBE:
                    meter.due_at = self._pause_until or now
            else:
                meter.misses += 1
                if action.kind is ActionKind.PROBE:
                    probed = self._probe_next if self._probing is None else self._probing
                    self._probe_next = probed + 1
                else:
                    meter.due_at = self._retry_at(now, today)
        elif not (outcome.failed or outcome.refused):
            if action.kind is ActionKind.MAX_POWER:
                meter.max_power_on = today
            elif action.kind is ActionKind.PRODUCTION:
                meter.production_on = today

    def _published(self, now: datetime, today: date) -> None:
        """Yesterday is out: every stale meter gets its slot in the burst."""
        self.published_at = now
        start = now + self.config.settle
        for rank, meter in enumerate(self.stale(today)):
            meter.due_at = start + self.config.spread * rank
