"""Figures derived from stored energy history. No Home Assistant import.

`peaks` (max-power share of the subscribed power, typical peak hours), `self_consumption`
(PV self-consumption and self-sufficiency).
"""
