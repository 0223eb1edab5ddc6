"""Load shedding. No Home Assistant import.

`signals` says when a peak is on (tariff hours, live power with hysteresis) and when to
pre-heat before a red Tempo day; `controller` turns the peak signal into ordered shed and
restore actions with exact saved states. The Home Assistant glue (`runtime/shedding.py`)
reads entity states, executes the returned actions and persists the controller with
`as_dict`/`from_dict`.
"""
