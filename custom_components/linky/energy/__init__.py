"""Energy maths of the Linky integration. No Home Assistant import.

`hourly` turns load-curve intervals into UTC hourly energies, `ledger` keeps track of what is
stored in the long-term statistics and plans exact writes, `tariffs` and `tempo_calendar`
price the energy.
"""
