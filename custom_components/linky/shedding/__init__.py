"""Load shedding and PV self-consumption. No Home Assistant import.

`signals` says when a peak is on (tariff hours, live power with hysteresis) and when to
pre-heat before a red Tempo day; `controller` turns the peak signal into ordered shed and
restore actions with exact saved states; `peaks` derives insight from history (max power
share, typical peak hours); `selfconsumption` computes PV self-consumption figures.
The Home Assistant glue reads entity states, executes the returned actions and persists the
controller with `as_dict`/`from_dict`.
"""
