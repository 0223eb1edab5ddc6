"""Keeping a meter's statistics in step with the Conso API. No Home Assistant import.

`state` (what is remembered), `gaps` (what is missing), `engine` (what to ask and store),
`schedule` (when to run).
"""
