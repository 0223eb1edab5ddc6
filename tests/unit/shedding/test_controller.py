"""Load-shedding controller on a simulated house driven by a live power through peaks: shed
order, shedding only while above target, no flapping, reverse restore order, exact restored
states, min off time, max shed duration and cool-down, restart (persistence round trip),
removed loads, disabling, batteries, unavailable loads."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
import itertools
import json
from typing import Any

import pytest

from custom_components.linky.shedding.controller import (
    EVENT_RESTORE,
    EVENT_SHED,
    BatteryAction,
    ControllerConfig,
    RestoreAction,
    RestoreReason,
    ShedAction,
    SheddingController,
)
from custom_components.linky.shedding.loads import (
    Battery,
    BatteryMode,
    Load,
    LoadKind,
    RawState,
    ServiceCall,
    ShedMode,
    restore_calls,
    snapshot,
)
from custom_components.linky.shedding.signals import (
    PeakReason,
    PeakSignal,
    PowerPeakDetector,
    PowerThreshold,
)

from .house import ECO_TEMPERATURE, House, Run

START = datetime(2026, 1, 14, 17, 0, tzinfo=UTC)
THRESHOLD = PowerThreshold(subscribed_kva=9, on_ratio=0.9, off_ratio=0.8)  # 8100 / 7200 W
LIVING = "climate.living"
BEDROOM = "climate.bedroom"
TOWEL = "switch.towel_rail"
BOILER = "water_heater.boiler"
LOADS = (
    Load(LIVING, LoadKind.CLIMATE, ShedMode.ECO_PRESET, min_off=timedelta(minutes=5),
         power_w=2000),
    Load(BEDROOM, LoadKind.CLIMATE, ShedMode.SETPOINT, delta=-3, power_w=1500),
    Load(TOWEL, LoadKind.SWITCH, power_w=800),
    Load(BOILER, LoadKind.WATER_HEATER, power_w=2200),
)  # fmt: skip
RED = PeakSignal(True, PeakReason.TEMPO_RED, START)
OFF = PeakSignal(False)


def no_entity(_entity_id: str) -> RawState | None:
    """A state reader that finds nothing (for battery-only controllers)."""
    return None


def initial_states() -> dict[str, tuple[str, dict[str, Any]]]:
    """The house before any peak: every load running, with attributes a shed may change."""
    return {
        LIVING: (
            "heat",
            {"preset_mode": "comfort", "temperature": 20.5, "current_temperature": 19.8,
             "hvac_modes": ["off", "heat"], "preset_modes": ["comfort", "eco", "away"]},
        ),
        BEDROOM: ("heat", {"preset_mode": "none", "temperature": 19.5, "hvac_modes": ["heat"]}),
        TOWEL: ("on", {"friendly_name": "Towel rail"}),
        BOILER: ("electric", {"temperature": 55, "operation_list": ["off", "electric"]}),
        "select.battery_mode": ("auto", {"options": ["auto", "discharge", "charge"]}),
    }  # fmt: skip


def house() -> House:
    """A house drawing 1000 W base + 2000 + 1350 + 800 + 2200 = 7350 W: just below the
    on threshold of a 9 kVA subscription."""
    return House(
        initial_states(), {LIVING: 2000, BEDROOM: 1500, TOWEL: 800, BOILER: 2200}, base_w=1000
    )


def power_run(loads: tuple[Load, ...] = LOADS, **config: Any) -> Run:
    """A run where the peak comes from the live power only."""
    settings = {"target_w": THRESHOLD.off_w, "limit_w": THRESHOLD.on_w, **config}
    return Run(
        house(),
        SheddingController(loads, config=ControllerConfig(**settings)),
        PowerPeakDetector(THRESHOLD),
        START,
    )


def test_power_peak_sheds_in_order_until_below_target_and_restores_in_reverse() -> None:
    run = power_run()
    assert run.house.power_w() == pytest.approx(7350)
    run.run(10)
    assert run.log == []  # 7350 W is below 8100 W: no peak
    run.run(40, base_w=4000)  # an oven: 10350 W
    # Living room to eco (-1600 W: 8750), bedroom -3 degrees (-900 W: 7850), towel rail off
    # (-800 W: 7050 <= 7200 W target): the boiler is never shed.
    assert run.sheds() == [LIVING, BEDROOM, TOWEL]
    assert run.house.states[LIVING][1]["preset_mode"] == "eco"
    assert run.house.states[LIVING][1]["temperature"] == ECO_TEMPERATURE
    assert run.house.states[BEDROOM][1]["temperature"] == 16.5
    assert run.house.states[BOILER] == initial_states()[BOILER]
    shed_times = [t for t, a in run.log if isinstance(a, ShedAction)]
    assert shed_times[0] == START + timedelta(minutes=12)  # on at 10, after a 2-minute dwell
    assert [b - a for a, b in itertools.pairwise(shed_times)] == [timedelta(minutes=1)] * 2
    # The peak ended once the power stayed <= 7200 W; the towel rail came back (7850 W, below
    # 8100 W), the bedroom (+1500 W estimated) waits for the oven to stop.
    assert run.restores() == [TOWEL]
    run.run(30, base_w=1000)
    assert run.restores() == [TOWEL, BEDROOM, LIVING]
    restore_times = [t for t, a in run.log if isinstance(a, RestoreAction)]
    assert restore_times[1] >= START + timedelta(minutes=50)  # after the oven stopped
    # No flapping: one peak, on then off, through the whole run.
    assert [active for _, active in run.peaks] == [False, True, False]
    # Exact restore: every entity is back to its state and attributes before the peak.
    assert run.house.states == initial_states()
    assert run.controller.level == 0


def test_saved_states_and_event_payloads() -> None:
    run = power_run()
    run.run(2)
    run.run(20, base_w=4000)
    shed = [a for _, a in run.log if isinstance(a, ShedAction)]
    assert [a.level for a in shed] == [1, 2, 3]
    first = shed[0]
    assert first.saved_state == {
        "state": "heat",
        "preset_mode": "comfort",
        "temperature": 20.5,
        "target_temp_low": None,
        "target_temp_high": None,
    }
    assert first.calls == (
        ServiceCall("climate", "set_preset_mode", LIVING, {"preset_mode": "eco"}),
    )
    payload = first.event_payload()
    assert payload == {
        "entity_id": LIVING,
        "level": 1,
        "reason": "power",
        "saved_state": first.saved_state,
        "reapply": False,
    }
    json.dumps(payload)
    restore = next(a for _, a in run.log if isinstance(a, RestoreAction))
    assert restore.event_payload() == {
        "entity_id": TOWEL,
        "level": 2,
        "reason": "peak_end",
        "restored_state": {"state": "on"},
    }
    assert (EVENT_SHED, EVENT_RESTORE) == ("linky_load_shed", "linky_load_restored")


def test_min_off_time_delays_the_restore() -> None:
    loads = (Load(BOILER, LoadKind.WATER_HEATER, min_off=timedelta(minutes=20), power_w=2200),)
    run = power_run(loads)
    run.run(4, base_w=7000)  # 9200 W: peak on at minute 2, boiler off at minute 2
    run.run(40, base_w=1000)  # 1000 W: the peak ends at minute 6, min_off holds until 22
    shed_at = next(t for t, a in run.log if isinstance(a, ShedAction))
    restored_at = next(t for t, a in run.log if isinstance(a, RestoreAction))
    assert shed_at == START + timedelta(minutes=2)
    assert restored_at == shed_at + timedelta(minutes=20)
    assert run.house.states == initial_states()


def test_max_shed_forces_a_restore_then_cools_down() -> None:
    loads = (
        Load(LIVING, LoadKind.CLIMATE, ShedMode.OFF, max_shed=timedelta(hours=2),
             cooldown=timedelta(minutes=30)),
        Load(TOWEL, LoadKind.SWITCH, max_shed=timedelta(hours=5)),
    )  # fmt: skip
    home = house()
    controller = SheddingController(loads)
    log: list[tuple[datetime, Any]] = []
    now = START
    for minute in range(6 * 60):  # a six-hour red peak: the tariff sheds everything
        now = START + timedelta(minutes=minute)
        actions = controller.step(now, RED, home.read)
        home.execute(actions)
        log += [(now, action) for action in actions]
    living = [(t, type(a).__name__, getattr(a, "reason", None)) for t, a in log
              if a.entity_id == LIVING]  # fmt: skip
    assert living == [
        (START, "ShedAction", PeakReason.TEMPO_RED),
        (START + timedelta(hours=2), "RestoreAction", RestoreReason.MAX_SHED),
        (START + timedelta(hours=2, minutes=30), "ShedAction", PeakReason.TEMPO_RED),
        (START + timedelta(hours=4, minutes=30), "RestoreAction", RestoreReason.MAX_SHED),
        (START + timedelta(hours=5), "ShedAction", PeakReason.TEMPO_RED),
    ]
    towel = [(t, type(a).__name__) for t, a in log if a.entity_id == TOWEL]
    assert towel == [
        (START + timedelta(minutes=1), "ShedAction"),
        (START + timedelta(hours=5, minutes=1), "RestoreAction"),
        (START + timedelta(hours=5, minutes=31), "ShedAction"),
    ]
    # Each forced restore put back the exact state (heat, comfort, 20.5).
    assert home.calls[2:4] == [
        ServiceCall("climate", "set_hvac_mode", LIVING, {"hvac_mode": "heat"}),
        ServiceCall("climate", "set_preset_mode", LIVING, {"preset_mode": "comfort"}),
    ]


def test_restart_mid_shed_with_the_peak_still_on_reapplies_then_restores_exactly() -> None:
    run = power_run()
    run.run(2)
    run.run(20, base_w=4000)
    assert run.controller.level == 2  # the towel rail came back already
    stored = json.loads(json.dumps(run.controller.as_dict()))
    saved = {e: run.controller.saved_state(e) for e in run.controller.shed_entities}

    # Home Assistant restarts; meanwhile the thermostats reset to their own defaults.
    run.house.states[LIVING] = ("heat", {**initial_states()[LIVING][1], "preset_mode": "away"})
    run.house.states[BEDROOM] = ("heat", {**initial_states()[BEDROOM][1], "temperature": 21})
    config = run.controller.config
    run.controller = SheddingController.from_dict(stored, LOADS, config=config)
    assert run.controller.level == 2
    assert {e: run.controller.saved_state(e) for e in run.controller.shed_entities} == saved
    actions = run.controller.resume(run.now, PeakSignal(True, PeakReason.POWER, START))
    assert [(type(a).__name__, a.entity_id) for a in actions] == [
        ("ShedAction", LIVING),
        ("ShedAction", BEDROOM),
    ]
    assert all(isinstance(a, ShedAction) and a.reapply for a in actions)
    run.house.execute(actions)
    assert run.house.states[LIVING][1]["preset_mode"] == "eco"
    assert run.house.states[BEDROOM][1]["temperature"] == 16.5  # saved 19.5, minus 3

    run.run(30, base_w=1000)
    assert run.house.states == initial_states()  # the states from before the peak


def test_restart_after_the_peak_restores_everything_at_once_in_reverse_order() -> None:
    run = power_run()
    run.run(2)
    run.run(4, base_w=4000)  # living and bedroom shed, in the peak
    stored = json.loads(json.dumps(run.controller.as_dict()))
    controller = SheddingController.from_dict(stored, LOADS, config=run.controller.config)
    actions = controller.resume(run.now + timedelta(hours=1), OFF)
    assert [(a.entity_id, a.reason) for a in actions if isinstance(a, RestoreAction)] == [
        (BEDROOM, RestoreReason.RESTART),
        (LIVING, RestoreReason.RESTART),
    ]
    run.house.execute(actions)
    assert run.house.states == initial_states()
    assert controller.level == 0


def test_downtime_counts_toward_max_shed() -> None:
    controller = SheddingController(LOADS)
    home = house()
    home.execute(controller.step(START, RED, home.read))
    stored = json.loads(json.dumps(controller.as_dict()))
    later = START + timedelta(hours=3)  # down for three hours; max_shed is two
    restarted = SheddingController.from_dict(stored, LOADS)
    actions = restarted.resume(later, RED)
    assert [(type(a).__name__, getattr(a, "reason", None)) for a in actions] == [
        ("RestoreAction", RestoreReason.MAX_SHED)
    ]
    home.execute(actions)
    assert home.states == initial_states()
    # Cooling down: the next shed skips the living room.
    step = restarted.step(later, RED, home.read)
    assert [a.entity_id for a in step] == [BEDROOM]


def test_a_shed_load_removed_from_the_options_is_restored_at_once() -> None:
    controller = SheddingController(LOADS)
    home = house()
    for minute in range(2):
        home.execute(controller.step(START + timedelta(minutes=minute), RED, home.read))
    stored = json.loads(json.dumps(controller.as_dict()))
    restarted = SheddingController.from_dict(stored, LOADS[1:])  # living room removed
    actions = restarted.step(START + timedelta(minutes=2), RED, home.read)
    assert [(type(a).__name__, a.entity_id) for a in actions] == [
        ("RestoreAction", LIVING),
        ("ShedAction", TOWEL),
    ]
    assert actions[0].reason is RestoreReason.REMOVED  # type: ignore[union-attr]
    home.execute(actions)
    assert home.states[LIVING] == initial_states()[LIVING]


def test_disabling_restores_everything_and_stops_shedding() -> None:
    battery = Battery(
        "select.battery_mode",
        discharge=ServiceCall("select", "select_option", "select.battery_mode",
                              {"option": "discharge"}),
        charge=ServiceCall("select", "select_option", "select.battery_mode",
                           {"option": "charge"}),
        idle=ServiceCall("select", "select_option", "select.battery_mode", {"option": "auto"}),
    )  # fmt: skip
    controller = SheddingController(LOADS, [battery])
    home = house()
    for minute in range(3):
        home.execute(controller.step(START + timedelta(minutes=minute), RED, home.read))
    assert controller.level == 3
    assert home.states["select.battery_mode"][0] == "discharge"
    actions = controller.set_enabled(False, START + timedelta(minutes=3))
    assert [a.entity_id for a in actions] == [TOWEL, BEDROOM, LIVING, "select.battery_mode"]
    home.execute(actions)
    assert home.states == initial_states()
    assert controller.step(START + timedelta(minutes=4), RED, home.read) == []
    assert not SheddingController.from_dict(controller.as_dict(), LOADS).enabled
    assert controller.set_enabled(True, START + timedelta(minutes=5)) == []
    assert [a.entity_id for a in controller.step(START + timedelta(minutes=5), RED, home.read)
            if isinstance(a, ShedAction)] == [LIVING]  # fmt: skip


def test_battery_discharges_at_peak_and_charges_off_peak() -> None:
    select = "select.battery_mode"

    def option(name: str) -> ServiceCall:
        return ServiceCall("select", "select_option", select, {"option": name})

    controller = SheddingController([], [Battery(select, option("discharge"), option("charge"))])
    timeline = [  # (peak, off-peak hours)
        (OFF, True), (OFF, True), (RED, False), (RED, False), (OFF, False), (OFF, True),
    ]  # fmt: skip
    modes = []
    for minute, (peak, offpeak) in enumerate(timeline):
        actions = controller.step(START + timedelta(minutes=minute), peak, no_entity, None,
                                  offpeak)  # fmt: skip
        modes.append([(a.mode, a.call) for a in actions if isinstance(a, BatteryAction)])
    assert modes == [
        [(BatteryMode.CHARGE, option("charge"))],
        [],
        [(BatteryMode.DISCHARGE, option("discharge"))],
        [],
        [],  # no idle call configured: the battery is left as it is
        [(BatteryMode.CHARGE, option("charge"))],
    ]
    # After a restart the current mode is sent again.
    restarted = SheddingController.from_dict(controller.as_dict(), [], controller.batteries)
    assert restarted.resume(START + timedelta(minutes=9), OFF) == []
    again = restarted.step(START + timedelta(minutes=9), OFF, no_entity, None, True)
    assert [a.mode for a in again if isinstance(a, BatteryAction)] == [BatteryMode.CHARGE]


def test_unavailable_loads_and_unusable_setpoints_are_skipped() -> None:
    states = initial_states()
    states[LIVING] = ("unavailable", {})
    states[BEDROOM] = ("heat", {"preset_mode": None})  # no setpoint to lower
    home = House(states, {})
    controller = SheddingController(LOADS, config=ControllerConfig(step_interval=timedelta(0)))
    actions = controller.step(START, RED, home.read)
    assert [a.entity_id for a in actions] == [TOWEL]
    actions = controller.step(START, RED, home.read)
    assert [a.entity_id for a in actions] == [BOILER]
    assert controller.step(START, RED, home.read) == []


def test_power_peak_without_a_reading_holds_and_tariff_peak_can_require_power() -> None:
    power_peak = PeakSignal(True, PeakReason.POWER, START)
    controller = SheddingController(LOADS, config=ControllerConfig(target_w=7200))
    home = house()
    assert controller.step(START, power_peak, home.read, None) == []
    assert controller.step(START, power_peak, home.read, 7000) == []
    assert [a.entity_id for a in controller.step(START, power_peak, home.read, 7300)] == [LIVING]
    strict = SheddingController(
        LOADS, config=ControllerConfig(target_w=7200, tariff_sheds_all=False)
    )
    assert strict.step(START, RED, home.read, 5000) == []
    assert [a.entity_id for a in strict.step(START, RED, home.read, 9000)] == [LIVING]


@pytest.mark.parametrize(
    ("saved", "calls"),
    [
        (
            {"state": "heat_cool", "preset_mode": None, "temperature": None,
             "target_temp_low": 19, "target_temp_high": 24},
            [("set_hvac_mode", {"hvac_mode": "heat_cool"}),
             ("set_temperature", {"target_temp_low": 19, "target_temp_high": 24})],
        ),
        ({"state": "off", "preset_mode": "eco", "temperature": 17},
         [("set_hvac_mode", {"hvac_mode": "off"})]),
        ({"state": "heat", "preset_mode": "comfort", "temperature": 20},
         [("set_hvac_mode", {"hvac_mode": "heat"}),
          ("set_preset_mode", {"preset_mode": "comfort"})]),
    ],
)  # fmt: skip
def test_climate_restore_calls(saved: dict[str, Any], calls: list[Any]) -> None:
    assert [(c.service, c.data) for c in restore_calls(LoadKind.CLIMATE, LIVING, saved)] == calls


def test_water_heater_and_switch_restore_calls() -> None:
    assert restore_calls(LoadKind.WATER_HEATER, BOILER, {"state": "off", "temperature": 50}) == [
        ServiceCall("water_heater", "turn_off", BOILER)
    ]
    assert restore_calls(LoadKind.SWITCH, TOWEL, {"state": "off"}) == [
        ServiceCall("switch", "turn_off", TOWEL)
    ]
    assert snapshot(LoadKind.SWITCH, ("unknown", {})) is None
    assert snapshot(LoadKind.SWITCH, None) is None


def test_loads_validate_and_round_trip() -> None:
    for load in LOADS:
        assert Load.from_dict(json.loads(json.dumps(load.as_dict()))) == load
    assert Load.from_dict({"entity_id": TOWEL, "kind": "switch"}) == Load(TOWEL, LoadKind.SWITCH)
    bad: list[dict[str, Any]] = [
        {"entity_id": "light.x", "kind": LoadKind.SWITCH},
        {"entity_id": TOWEL, "kind": LoadKind.SWITCH, "mode": ShedMode.ECO_PRESET},
        {"entity_id": TOWEL, "kind": LoadKind.SWITCH, "mode": ShedMode.SETPOINT, "delta": -1},
        {"entity_id": LIVING, "kind": LoadKind.CLIMATE, "mode": ShedMode.SETPOINT},
        {"entity_id": LIVING, "kind": LoadKind.CLIMATE, "mode": ShedMode.SETPOINT,
         "delta": -1, "setpoint": 17},
        {"entity_id": TOWEL, "kind": LoadKind.SWITCH, "min_off": timedelta(hours=3)},
        {"entity_id": TOWEL, "kind": LoadKind.SWITCH, "cooldown": timedelta(-1)},
        {"entity_id": TOWEL, "kind": LoadKind.SWITCH, "power_w": -5},
    ]  # fmt: skip
    for kwargs in bad:
        with pytest.raises(ValueError, match=r"\w"):
            Load(**kwargs)
    select = "select.battery_mode"
    battery = Battery(
        select,
        ServiceCall("select", "select_option", select, {"option": "discharge"}),
        ServiceCall("number", "set_value", "number.battery_power", {"value": -3000}),
    )
    assert Battery.from_dict(json.loads(json.dumps(battery.as_dict()))) == battery
    with pytest.raises(ValueError, match="twice"):
        SheddingController([LOADS[0], LOADS[0]])
    with pytest.raises(ValueError, match="version"):
        SheddingController.from_dict({"version": 99}, LOADS)
    with pytest.raises(ValueError, match="naive"):
        SheddingController(LOADS).step(datetime(2026, 1, 1), RED, no_entity)


def test_as_dict_is_a_deep_copy_of_the_state() -> None:
    controller = SheddingController(LOADS)
    home = house()
    controller.step(START, RED, home.read)
    stored = controller.as_dict()
    snapshot_before = copy.deepcopy(stored)
    stored["shed"][LIVING]["saved_state"]["temperature"] = 0
    assert controller.as_dict() == snapshot_before


def test_a_restore_missed_while_unavailable_is_retried_until_the_load_is_back() -> None:
    """The restore of a load that is unavailable then (after a restart, a Zigbee or ESPHome
    device not back yet) is not dropped: the load stays tracked, is restored again once it
    is back, and is let go only when it shows its saved state, across a restart too."""
    controller = SheddingController(LOADS)
    home = house()
    home.execute(controller.step(START, RED, home.read))
    assert controller.shed_entities == [LIVING]
    saved = dict(home.states[LIVING][1])
    home.states[LIVING] = ("unavailable", {})
    later = START + timedelta(minutes=6)
    actions = controller.step(later, OFF, home.read)
    assert [a.entity_id for a in actions] == [LIVING]
    # The calls fail: the entity is unavailable (nothing changes in the house).
    assert controller.level == 0
    assert controller.restoring_entities == [LIVING]
    for minute in range(7, 10):  # still unavailable: waits, sends nothing
        assert controller.step(START + timedelta(minutes=minute), OFF, home.read) == []
    restarted = SheddingController.from_dict(json.loads(json.dumps(controller.as_dict())), LOADS)
    assert restarted.restoring_entities == [LIVING]
    home.states[LIVING] = ("heat", {**saved, "preset_mode": "eco", "temperature": 16.0})
    retry = restarted.step(START + timedelta(minutes=11), OFF, home.read)
    assert [(a.entity_id, a.reason) for a in retry if isinstance(a, RestoreAction)] == [
        (LIVING, RestoreReason.RETRY)
    ]
    home.execute(retry)
    assert home.states[LIVING][1]["preset_mode"] == "comfort"
    assert restarted.step(START + timedelta(minutes=12), OFF, home.read) == []
    assert restarted.restoring_entities == []
