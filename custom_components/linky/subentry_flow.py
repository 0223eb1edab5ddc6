"""The loads to shed, as config subentries of a meter's entry (type `load`).

Each load is one subentry (data = `Load.as_dict()`, unique id = its entity id), listed in
Home Assistant's UI under the entry, where it is added, edited or deleted; the order in
which loads were added is their priority (the first is shed first, restored last). Any
change sets the entry up again: a removed load that was shed is restored at once.
"""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigSubentryFlow, SubentryFlowResult

from .const import (
    FIELD_ENTITY,
)
from .flow_forms import (
    LOAD_SCHEMA,
    load_suggestion,
    read_load,
)
from .options import OptionsError
from .shedding.loads import Load


class LoadSubentryFlow(ConfigSubentryFlow):
    """Add or edit a load to shed."""

    def _other_loads(self) -> set[str]:
        """Entity ids of the entry's other loads."""
        entry = self._get_entry()
        current = (
            self._get_reconfigure_subentry().subentry_id if self.source == "reconfigure" else None
        )
        return {
            str(subentry.unique_id)
            for subentry in entry.subentries.values()
            if subentry.subentry_type == self.handler[1] and subentry.subentry_id != current
        }

    def _read(self, user_input: dict[str, Any], errors: dict[str, str]) -> Load | None:
        try:
            load = read_load(user_input)
        except OptionsError as err:
            errors[err.field] = err.key
            return None
        if load.entity_id in self._other_loads():
            errors[FIELD_ENTITY] = "duplicate_load"
            return None
        return load

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """A new load, after the existing ones (shed last, restored first)."""
        errors: dict[str, str] = {}
        if user_input is not None and (load := self._read(user_input, errors)) is not None:
            return self.async_create_entry(
                title=load.entity_id, data=load.as_dict(), unique_id=load.entity_id
            )
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(
                LOAD_SCHEMA, user_input or load_suggestion(None)
            ),
            errors=errors,
            description_placeholders={"count": str(len(self._other_loads()))},
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change how a load is shed (its place in the order is kept)."""
        entry = self._get_entry()
        subentry = self._get_reconfigure_subentry()
        errors: dict[str, str] = {}
        if user_input is not None and (load := self._read(user_input, errors)) is not None:
            return self.async_update_and_abort(
                entry,
                subentry,
                title=load.entity_id,
                data=load.as_dict(),
                unique_id=load.entity_id,
            )
        try:
            current: Load | None = Load.from_dict(subentry.data)
        except KeyError, TypeError, ValueError:
            current = None
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                LOAD_SCHEMA, user_input or load_suggestion(current)
            ),
            errors=errors,
        )
