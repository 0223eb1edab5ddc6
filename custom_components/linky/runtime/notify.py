"""Listeners of a runtime part: the entities that show it are told after each update."""

from __future__ import annotations

from homeassistant.core import CALLBACK_TYPE, callback


class Notifier:
    """Keeps the callbacks to call after each update of a part (load shedding, a derived
    part); entities register in `async_added_to_hass`."""

    def __init__(self) -> None:
        self._listeners: list[CALLBACK_TYPE] = []

    @callback
    def async_add_listener(self, update: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call `update` after each update; returns the function that stops it."""
        self._listeners.append(update)

        @callback
        def remove() -> None:
            self._listeners.remove(update)

        return remove

    @callback
    def _async_notify(self) -> None:
        for update in list(self._listeners):
            update()
