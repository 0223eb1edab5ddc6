"""Error bodies to the client's error taxonomy: every real error fixture and spec shapes."""

from __future__ import annotations

from datetime import UTC, datetime
import json

import pytest

from custom_components.linky.conso.errors import (
    ConsoApiAuthError,
    ConsoApiBannedError,
    ConsoApiError,
    ConsoApiHistoryLimitError,
    ConsoApiMalformedResponseError,
    ConsoApiNoConsentError,
    ConsoApiNoDataError,
    ConsoApiNotHolderError,
    ConsoApiRateLimitedError,
    ConsoApiRequestError,
    ConsoApiServerError,
)
from custom_components.linky.conso.parsing import parse_error, parse_next_access_time

from .common import REAL_FIXTURES

JSON = "application/json"

# file -> (class, code, retry_at); the status is the first number in the file name.
REAL_ERRORS: dict[str, tuple[type[ConsoApiError], str | None, datetime | None]] = {
    "cloudflare_403_blocked_truncated.html": (ConsoApiBannedError, None, None),
    "conso_400_adam_dc_0007_not_holder.json": (ConsoApiNotHolderError, "ADAM-DC-0007", None),
    "conso_400_adam_err0123_before_activation.json": (
        ConsoApiHistoryLimitError,
        "ADAM-ERR0123",
        None,
    ),
    "conso_400_adam_err0125_before_history_deadline.json": (
        ConsoApiHistoryLimitError,
        "ADAM-ERR0125",
        None,
    ),
    "conso_400_invalid_request_start_after_end.json": (
        ConsoApiRequestError,
        "Invalid_request",
        None,
    ),
    "conso_401_invalid_token.json": (ConsoApiAuthError, None, None),
    "conso_403_adam_dc_0008_no_consent.json": (ConsoApiNoConsentError, "ADAM-DC-0008", None),
    "conso_404_no_data_found.json": (ConsoApiNoDataError, "no_data_found", None),
    "conso_429_900804_quota_next_access_time.json": (
        ConsoApiRateLimitedError,
        "900804",
        datetime(2026, 7, 17, 5, 0, tzinfo=UTC),
    ),
    "conso_429_900807_fault_quota.json": (ConsoApiRateLimitedError, "900807", None),
    "conso_500_enedis_plain_text_error.json": (ConsoApiServerError, None, None),
    "conso_500_technical_error.json": (ConsoApiServerError, "technical_error", None),
    "conso_500_token_refresh_failed.json": (ConsoApiServerError, None, None),
    "conso_500_unknown_error.json": (ConsoApiServerError, None, None),
    "enedis_403_900908_api_not_subscribed.json": (ConsoApiRequestError, "900908", None),
    "enedis_404_no_data_found_raw.json": (ConsoApiNoDataError, "no_data_found", None),
    "enedis_500_v4_erreur_technique_raw.json": (ConsoApiServerError, "500", None),
}

# Classes that must not be confused with each other (a subclass check would hide mistakes).
ALL_CLASSES = {cls for cls, _, _ in REAL_ERRORS.values()} | {ConsoApiMalformedResponseError}


def test_every_error_fixture_is_covered() -> None:
    assert {p.name for p in (REAL_FIXTURES / "errors").iterdir()} == set(REAL_ERRORS)


@pytest.mark.parametrize(("name", "expected"), REAL_ERRORS.items())
def test_real_error_bodies(
    name: str, expected: tuple[type[ConsoApiError], str | None, datetime | None]
) -> None:
    cls, code, retry_at = expected
    status = int(name.split("_")[1])
    body = (REAL_FIXTURES / "errors" / name).read_text(encoding="utf-8")
    content_type = "text/html; charset=UTF-8" if name.endswith(".html") else JSON

    error = parse_error(status, body, content_type)

    assert type(error) is cls
    assert error.status == status
    assert error.code == code
    assert error.message
    assert str(error) == error.message
    if isinstance(error, ConsoApiRateLimitedError):
        assert error.retry_at == retry_at
    else:
        assert retry_at is None


def test_real_error_messages_keep_upstream_text() -> None:
    def message(name: str) -> str:
        status = int(name.split("_")[1])
        return parse_error(status, (REAL_FIXTURES / "errors" / name).read_text(), JSON).message

    assert "No consent can be found" in message("conso_403_adam_dc_0008_no_consent.json")
    assert "500 Internal Server Error" in message("conso_500_enedis_plain_text_error.json")
    assert "Impossible de rafraîchir le token" in message("conso_500_token_refresh_failed.json")
    assert "Cloudflare" in message("cloudflare_403_blocked_truncated.html")
    assert "You have exceeded your quota" in message("conso_429_900807_fault_quota.json")


def test_history_limit_knows_activation_date_case() -> None:
    def body(code: str) -> str:
        return json.dumps({"status": 400, "error": {"error": code, "error_description": "x"}})

    assert parse_error(400, body("ADAM-ERR0123"), JSON).before_activation  # type: ignore[attr-defined]
    assert not parse_error(400, body("ADAM-ERR0125"), JSON).before_activation  # type: ignore[attr-defined]
    assert type(parse_error(400, body("ADAM-DC-0016"), JSON)) is ConsoApiHistoryLimitError


CLOUDFLARE_502 = {
    "type": "https://developers.cloudflare.com/support/troubleshooting/http-status-codes/cloudflare-5xx-errors/error-502/",
    "title": "Error 502: Bad gateway",
    "status": 502,
    "detail": "The origin web server returned an invalid or incomplete response to Cloudflare.",
    "instance": "9a8b7c6d5e4f3a2b",
    "error_code": 502,
    "error_name": "origin_bad_gateway",
    "error_category": "origin",
    "ray_id": "9a8b7c6d5e4f3a2b",
}


@pytest.mark.parametrize(
    ("status", "body", "content_type", "cls", "code"),
    [
        (
            502,
            json.dumps(CLOUDFLARE_502),
            "application/problem+json",
            ConsoApiServerError,
            "origin_bad_gateway",
        ),
        (
            502,
            "<html><title>502 Bad Gateway</title></html>",
            "text/html",
            ConsoApiServerError,
            None,
        ),
        (504, "", None, ConsoApiServerError, None),
        (
            503,
            json.dumps(
                {
                    "status": 503,
                    "message": "The Enedis API returned an error",
                    "error": {"code": "ADAM-DC-0500", "message": "Technical Exception"},
                }
            ),
            JSON,
            ConsoApiServerError,
            "ADAM-DC-0500",
        ),
        (
            405,
            json.dumps({"status": 405, "message": "Seule la méthode GET est autorisée"}),
            JSON,
            ConsoApiRequestError,
            None,
        ),
        (
            400,
            json.dumps(
                {
                    "status": 400,
                    "message": "Paramètres invalides",
                    "error": {
                        "issues": [{"code": "too_small", "path": ["pointId"]}],
                        "name": "ZodError",
                    },
                }
            ),
            JSON,
            ConsoApiRequestError,
            None,
        ),
        (
            400,
            json.dumps(
                {"status": 400, "message": "Le header 'Authorization' est manquant ou invalide"}
            ),
            JSON,
            ConsoApiRequestError,
            None,
        ),
        (
            400,
            json.dumps(
                {
                    "status": 400,
                    "message": "The Enedis API returned an error",
                    "error": {
                        "error": "ADAM-ERR0126",
                        "error_description": "The requested period must be less than 7 days",
                    },
                }
            ),
            JSON,
            ConsoApiRequestError,
            "ADAM-ERR0126",
        ),
        # V2 Swagger error shape {code, message}, raw and wrapped
        (
            403,
            json.dumps({"code": "ADAM-DC-0008", "message": "Pas de consentement"}),
            JSON,
            ConsoApiNoConsentError,
            "ADAM-DC-0008",
        ),
        (
            400,
            json.dumps(
                {
                    "status": 400,
                    "error": {
                        "code": "ADAM-DC-0007",
                        "message": "Le client n'est pas titulaire du point demandé",
                    },
                }
            ),
            JSON,
            ConsoApiNotHolderError,
            "ADAM-DC-0007",
        ),
        (
            404,
            json.dumps(
                {"code": "STM-ERR-0000014", "message": "Pas de mesure trouvée pour ce point"}
            ),
            JSON,
            ConsoApiNoDataError,
            "STM-ERR-0000014",
        ),
        (
            429,
            json.dumps({"code": "429", "message": "SLA dépassé"}),
            JSON,
            ConsoApiRateLimitedError,
            "429",
        ),
        (429, "Too Many Requests", "text/plain", ConsoApiRateLimitedError, None),
        (401, "Unauthorized", "text/plain", ConsoApiAuthError, None),
        (403, "", None, ConsoApiBannedError, None),
        (404, "<html><title>404 Not Found</title></html>", "text/html", ConsoApiRequestError, None),
        (404, json.dumps("not found"), JSON, ConsoApiNoDataError, None),
        (418, json.dumps([1, 2]), JSON, ConsoApiRequestError, None),
        (200, "<html>maintenance</html>", "text/html", ConsoApiMalformedResponseError, None),
        (200, "", None, ConsoApiMalformedResponseError, None),
    ],
)
def test_other_error_shapes(
    status: int, body: str, content_type: str | None, cls: type[ConsoApiError], code: str | None
) -> None:
    error = parse_error(status, body, content_type)
    assert type(error) is cls
    assert error.status == status
    assert error.code == code
    assert error.message


def test_cloudflare_502_message() -> None:
    error = parse_error(502, json.dumps(CLOUDFLARE_502), "application/problem+json")
    assert error.message.startswith("Error 502: Bad gateway")


def test_secret_is_never_in_the_message() -> None:
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOlsiMTIzIl19.c2lnbmF0dXJl"
    echoed = json.dumps({"status": 401, "message": f"Bad token {token}"})
    error = parse_error(401, echoed, JSON, secret=token)
    assert token not in error.message
    assert token not in str(error)
    html = f"<html><title>blocked {token}</title></html>"
    assert token not in str(parse_error(403, html, "text/html", secret=token))


def test_long_messages_are_truncated() -> None:
    error = parse_error(500, json.dumps({"status": 500, "message": "x" * 5000}), JSON)
    assert len(error.message) <= 300


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-Jul-17 05:00:00+0000 UTC", datetime(2026, 7, 17, 5, 0, tzinfo=UTC)),
        ("2026-Jul-22 05:00:00+0000 UTC", datetime(2026, 7, 22, 5, 0, tzinfo=UTC)),
        ("2026-DEC-01 23:59:59+0100", datetime(2026, 12, 1, 22, 59, 59, tzinfo=UTC)),
        ("2026-Jan-5 7:00:00 UTC", datetime(2026, 1, 5, 7, 0, tzinfo=UTC)),
        ("2026-07-17T05:00:00+00:00", datetime(2026, 7, 17, 5, 0, tzinfo=UTC)),
        ("2026-07-17T05:00:00", datetime(2026, 7, 17, 5, 0, tzinfo=UTC)),
        ("2026-Foo-17 05:00:00+0000 UTC", None),
        ("2026-Feb-30 05:00:00+0000 UTC", None),
        ("tomorrow", None),
        ("", None),
        (None, None),
    ],
)
def test_next_access_time(text: str | None, expected: datetime | None) -> None:
    parsed = parse_next_access_time(text)
    assert parsed == expected
    if parsed is not None:
        assert parsed.tzinfo is UTC
