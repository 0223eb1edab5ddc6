"""Every Conso API / Enedis rule, in Conso API's order, with the real error bodies."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from conso_emulator import HOME_PDL, NEW_PDL, NO_CURVE_PDL, PV_PDL, Emulator

from .helpers import TODAY, Api, fixture, ordered

YESTERDAY = TODAY - timedelta(days=1)
WEEK_AGO = TODAY - timedelta(days=7)


def params(pdl: str = HOME_PDL, start: date = WEEK_AGO, end: date = TODAY) -> dict[str, str]:
    return {"pointId": pdl, "dateDebut": start.isoformat(), "dateFin": end.isoformat()}


def enedis(status: int, code: str, description: str) -> dict[str, object]:
    return {
        "status": status,
        "message": "The Enedis API returned an error",
        "error": {"error": code, "error_description": description},
    }


async def test_other_methods_get_405_and_options_200(api: Api) -> None:
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        reply = await api.call("consommation_quotidienne", params(), method=method)
        assert reply.status == 405
        assert reply.text == '{"status":405,"message":"Seule la méthode GET est autorisée"}'
    options = await api.call("consommation_quotidienne", params(), method="OPTIONS")
    assert (options.status, options.text) == (200, "")


async def test_missing_parameters_give_the_zod_body(api: Api) -> None:
    reply = await api.call("consommation_quotidienne", {}, token=api.token(HOME_PDL))
    assert reply.status == 400
    assert ordered(reply.body) == ordered(
        {
            "status": 400,
            "message": "Paramètres invalides",
            "error": {
                "issues": [
                    {
                        "code": "invalid_type",
                        "expected": "string",
                        "received": "null",
                        "path": [path],
                        "message": "Expected string, received null",
                    }
                    for path in ("pointId", "dateDebut", "dateFin")
                ],
                "name": "ZodError",
            },
        }
    )


async def test_short_and_long_pdl_and_bad_date(api: Api) -> None:
    short = await api.call(
        "consommation_quotidienne",
        {"pointId": "123", "dateDebut": "2026-11-01", "dateFin": "tomorrow"},
    )
    assert short.status == 400
    assert ordered(short.body["error"]["issues"]) == ordered(
        [
            {
                "code": "too_small",
                "minimum": 14,
                "type": "string",
                "inclusive": True,
                "exact": True,
                "message": "String must contain exactly 14 character(s)",
                "path": ["pointId"],
            },
            {
                "validation": "regex",
                "code": "invalid_string",
                "message": "Invalid",
                "path": ["dateFin"],
            },
        ]
    )
    long = await api.call("consommation_quotidienne", params(pdl=HOME_PDL + "0"))
    assert long.body["error"]["issues"][0]["code"] == "too_big"
    assert list(long.body["error"]["issues"][0])[1] == "maximum"


async def test_unknown_type_is_a_zod_enum_error(api: Api) -> None:
    reply = await api.call("index_inconnu", params(), token=api.token(HOME_PDL))
    assert reply.status == 400
    issue = reply.body["error"]["issues"][0]
    assert list(issue) == ["received", "code", "options", "path", "message"]
    assert issue["received"] == "index_inconnu"
    assert "consommation_quotidienne" in issue["options"]
    assert issue["message"].endswith("received 'index_inconnu'")


async def test_old_parameter_names_are_aliases_and_new_names_win(api: Api) -> None:
    old = await api.call(
        "consommation_quotidienne",
        {"prm": HOME_PDL, "start": WEEK_AGO.isoformat(), "end": TODAY.isoformat()},
        token=api.token(HOME_PDL),
    )
    new = await api.get("consommation_quotidienne", HOME_PDL, WEEK_AGO, TODAY)
    assert old.status == 200
    assert old.body == new.body
    both = await api.call(
        "consommation_quotidienne",
        {**params(), "prm": "short", "start": "2020-01-01", "end": "2020-01-02"},
        token=api.token(HOME_PDL),
    )
    assert both.status == 200
    assert both.body == new.body


async def test_zod_paths_use_new_names_for_old_parameters(api: Api) -> None:
    reply = await api.call(
        "daily_consumption", {"prm": "123", "start": WEEK_AGO.isoformat(), "end": "x"}
    )
    assert [issue["path"] for issue in reply.body["error"]["issues"]] == [["pointId"], ["dateFin"]]


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer ", "", "Bearer  token"])
async def test_missing_or_invalid_authorization_header(api: Api, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    reply = await api.call("consommation_quotidienne", params(), headers=headers)
    assert reply.status == 400
    assert reply.text == (
        '{"status":400,"message":"Le header \'Authorization\' est manquant ou invalide"}'
    )


async def test_the_bearer_word_is_not_checked(api: Api) -> None:
    headers = {"Authorization": f"Token {api.token(HOME_PDL)}"}
    reply = await api.call("consommation_quotidienne", params(), headers=headers)
    assert reply.status == 200


async def test_parameters_are_checked_before_the_header(api: Api) -> None:
    reply = await api.call("consommation_quotidienne", {"pointId": "1"}, headers={})
    assert reply.body["message"] == "Paramètres invalides"


async def test_invalid_tokens_get_the_real_401(api: Api, emu: Emulator) -> None:
    real = fixture("errors/conso_401_invalid_token.json")
    other = Emulator(secret=b"another secret").mint_token([HOME_PDL])
    expired = emu.mint_token([HOME_PDL], expires_at=emu.now() - timedelta(seconds=1))
    tampered = api.token(PV_PDL).split(".")
    tampered[1] = api.token(HOME_PDL).split(".")[1]
    for token in (
        other,
        expired,
        api.token(PV_PDL),
        ".".join(tampered),
        "not-a-jwt",
        "a.b.c",
    ):
        reply = await api.call("consommation_quotidienne", params(), token=token)
        assert reply.status == 401, token
        assert ordered(reply.body) == ordered(real)


async def test_token_is_checked_before_enedis_rules(api: Api) -> None:
    reply = await api.call(
        "consommation_quotidienne", params(start=TODAY, end=WEEK_AGO), token=api.token(PV_PDL)
    )
    assert reply.status == 401


async def test_start_not_before_end(api: Api) -> None:
    real = fixture("errors/conso_400_invalid_request_start_after_end.json")
    for start, end in ((YESTERDAY, WEEK_AGO), (YESTERDAY, YESTERDAY)):
        reply = await api.get("consommation_quotidienne", HOME_PDL, start, end)
        assert reply.status == 400
        assert ordered(reply.body) == ordered(real)


async def test_end_after_today(api: Api) -> None:
    reply = await api.get("consommation_quotidienne", HOME_PDL, WEEK_AGO, TODAY + timedelta(days=1))
    assert reply.status == 400
    assert ordered(reply.body) == ordered(
        enedis(
            400, "Invalid_request", "The end date parameter must be earlier than the current date"
        )
    )
    assert (await api.get("consommation_quotidienne", HOME_PDL, WEEK_AGO, TODAY)).status == 200


async def test_today_follows_paris_time(api: Api, emu: Emulator) -> None:
    emu.set_now(emu.now().replace(hour=0, minute=30))  # 23:30 UTC the day before
    assert (await api.get("consommation_quotidienne", HOME_PDL, WEEK_AGO, TODAY)).status == 200


async def test_a_date_matching_conso_regex_but_invalid_is_rejected_by_enedis(api: Api) -> None:
    reply = await api.call(
        "consommation_quotidienne",
        {"pointId": HOME_PDL, "dateDebut": "2026-11-01T00:00", "dateFin": "2026-11-02"},
        token=api.token(HOME_PDL),
    )
    assert reply.status == 400
    assert reply.body["error"]["error"] == "Invalid_request"


async def test_load_curve_span_limit(api: Api) -> None:
    ok = await api.get("courbe_de_charge_consommation", HOME_PDL, TODAY - timedelta(days=7), TODAY)
    assert ok.status == 200
    for measure_type in ("courbe_de_charge_consommation", "consumption_load_curve"):
        reply = await api.get(measure_type, HOME_PDL, TODAY - timedelta(days=8), TODAY)
        assert reply.status == 400
        assert ordered(reply.body) == ordered(
            enedis(
                400,
                "ADAM-ERR0126",
                "The requested period must be less than 7 days for an access to the load curve",
            )
        )
    long_daily = await api.get(
        "consommation_quotidienne", HOME_PDL, TODAY - timedelta(days=300), TODAY
    )
    assert long_daily.status == 200


@pytest.mark.parametrize(
    ("measure_type", "deadline"),
    [
        # 2026-11-20 - 24 months - 15 days; - 36 months - 15 days
        ("courbe_de_charge_consommation", date(2024, 11, 5)),
        ("consommation_quotidienne", date(2023, 11, 5)),
        ("puissance_conso_max_quotidienne", date(2023, 11, 5)),
    ],
)
async def test_history_deadline(api: Api, measure_type: str, deadline: date) -> None:
    real = fixture("errors/conso_400_adam_err0125_before_history_deadline.json")
    too_old = await api.get(
        measure_type, HOME_PDL, deadline - timedelta(days=1), deadline + timedelta(days=2)
    )
    assert too_old.status == 400
    assert ordered(too_old.body) == ordered(real)
    oldest = await api.get(measure_type, HOME_PDL, deadline, deadline + timedelta(days=2))
    assert oldest.status in (200, 404)  # 404 only if both days are missing
    assert oldest.body.get("status") != 400


async def test_before_activation(api: Api, emu: Emulator) -> None:
    real = fixture("errors/conso_400_adam_err0123_before_activation.json")
    activation = emu.meters[NEW_PDL].activation_date
    assert activation == TODAY - timedelta(days=20)
    before = await api.get(
        "consommation_quotidienne", NEW_PDL, activation - timedelta(days=1), TODAY
    )
    assert before.status == 400
    assert ordered(before.body) == ordered(real)
    since = await api.get("consommation_quotidienne", NEW_PDL, activation, TODAY)
    assert since.status == 200


async def test_consent_revoked(api: Api, emu: Emulator) -> None:
    real = fixture("errors/conso_403_adam_dc_0008_no_consent.json")
    emu.meters[HOME_PDL].consent = False
    for measure_type in (
        "consommation_quotidienne",
        "courbe_de_charge_consommation",
        "daily_consumption",
    ):
        reply = await api.get(measure_type, HOME_PDL, WEEK_AGO, TODAY)
        assert reply.status == 403
        assert ordered(reply.body) == ordered(real)
    emu.meters[HOME_PDL].consent = True
    assert (await api.get("consommation_quotidienne", HOME_PDL, WEEK_AGO, TODAY)).status == 200


async def test_not_holder(api: Api, emu: Emulator) -> None:
    real = fixture("errors/conso_400_adam_dc_0007_not_holder.json")
    emu.meters[HOME_PDL].holder = False
    reply = await api.get("consommation_quotidienne", HOME_PDL, WEEK_AGO, TODAY)
    assert reply.status == 400
    assert ordered(reply.body) == ordered(real)


async def test_production_of_a_consumer_only_meter(api: Api) -> None:
    real = fixture("errors/conso_403_adam_dc_0008_no_consent.json")
    for measure_type in (
        "production_quotidienne",
        "courbe_de_charge_production",
        "daily_production",
    ):
        reply = await api.get(measure_type, HOME_PDL, WEEK_AGO, TODAY)
        assert reply.status == 403
        assert ordered(reply.body) == ordered(real)
    assert (await api.get("production_quotidienne", PV_PDL, WEEK_AGO, TODAY)).status == 200


async def test_load_curve_disabled(api: Api) -> None:
    real = fixture("errors/conso_404_no_data_found.json")
    for measure_type in ("courbe_de_charge_consommation", "consumption_load_curve"):
        reply = await api.get(measure_type, NO_CURVE_PDL, WEEK_AGO, TODAY)
        assert reply.status == 404
        assert ordered(reply.body) == ordered(real)
    assert (await api.get("consommation_quotidienne", NO_CURVE_PDL, WEEK_AGO, TODAY)).status == 200


async def test_no_published_data_is_404(api: Api, emu: Emulator) -> None:
    real = fixture("errors/conso_404_no_data_found.json")
    emu.set_now(emu.now().replace(hour=7, minute=59))  # yesterday is not published yet
    reply = await api.get("consommation_quotidienne", HOME_PDL, YESTERDAY, TODAY)
    assert reply.status == 404
    assert ordered(reply.body) == ordered(real)


async def test_rules_are_checked_in_order(api: Api, emu: Emulator) -> None:
    meter = emu.meters[NEW_PDL]
    meter.consent = False
    meter.holder = False
    old = TODAY - timedelta(days=30)
    # Before activation wins over consent; start >= end wins over everything.
    assert (await api.get("consommation_quotidienne", NEW_PDL, old, TODAY)).body["error"][
        "error"
    ] == "ADAM-ERR0123"
    assert (await api.get("consommation_quotidienne", NEW_PDL, TODAY, old)).body["error"][
        "error"
    ] == "Invalid_request"
    # Consent wins over holder.
    recent = TODAY - timedelta(days=3)
    assert (await api.get("consommation_quotidienne", NEW_PDL, recent, TODAY)).body["error"][
        "error"
    ] == "ADAM-DC-0008"
    meter.consent = True
    assert (await api.get("consommation_quotidienne", NEW_PDL, recent, TODAY)).body["error"][
        "error"
    ] == "ADAM-DC-0007"
