"""GET /api/v1/openapi.json: the admin API's document, generated from its declarations.

No database: the document describes the routes, not any organization. That it matches
what the live server answers is tests/test_openapi_live.py's job (schemathesis).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from scim_server.api.admin import MAPPING_TYPES
from scim_server.app import create_app


@pytest.fixture(scope="module")
def app() -> Iterator[Flask]:
    application = create_app({"DATABASE_URL": "sqlite://"})
    yield application
    application.extensions["scim_db"].dispose()


@pytest.fixture(scope="module")
def document(app: Flask) -> dict[str, Any]:
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return dict(response.json)


def operation(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    return dict(document["paths"][path][method.lower()])


def codes(document: dict[str, Any], method: str, path: str, status: int) -> list[str]:
    schema = operation(document, method, path)["responses"][str(status)]["content"]
    (ref, codes) = schema["application/json"]["schema"]["allOf"]
    assert ref == {"$ref": "#/components/schemas/Error"}
    return list(codes["properties"]["error"]["properties"]["code"]["enum"])


def test_the_document_is_served_without_a_token_and_asks_for_one_everywhere_else(
    document: dict[str, Any],
) -> None:
    assert document["openapi"] == "3.1.0"
    assert document["servers"] == [{"url": "/api/v1"}]
    assert document["security"] == [{"bearer": []}]
    scheme = document["components"]["securitySchemes"]["bearer"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")


def test_every_route_of_the_admin_api_is_an_operation_of_the_document(
    app: Flask, document: dict[str, Any]
) -> None:
    routed = {
        (method, rule.rule.removeprefix("/api/v1"))
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("admin.")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    documented = {
        (method.upper(), path.replace("{member_id}", "<uuid:member_id>"))
        for path, item in document["paths"].items()
        for method in item
    }
    assert documented == routed
    assert len(documented) == 16
    assert ("GET", "/me") in documented


def test_every_operation_may_answer_401_and_those_above_members_403(
    document: dict[str, Any],
) -> None:
    for path, item in document["paths"].items():
        for method, described in item.items():
            assert codes(document, method, path, 401) == ["unauthorized"]
            assert "role or higher" in described["description"]
    assert "403" not in operation(document, "GET", "/me")["responses"]
    assert "403" not in operation(document, "GET", "/organization")["responses"]
    # A member reads their own member only: anyone else's is a 403.
    assert codes(document, "GET", "/members/{member_id}", 403) == ["forbidden"]
    assert codes(document, "GET", "/members", 403) == ["forbidden"]
    assert "Needs the owner role" in operation(document, "PUT", "/billing/seats")["description"]


def test_each_error_an_operation_answers_is_listed_with_its_status_and_code(
    document: dict[str, Any],
) -> None:
    assert codes(document, "PUT", "/billing/seats", 422) == [
        "invalid_input",
        "reduction_during_term",
    ]
    assert codes(document, "PUT", "/billing/seats", 400) == [
        "forbidden_character", "malformed_json", "nesting_too_deep",
    ]  # fmt: skip
    # gunicorn's own refusal of a long query string is in the document too (serving.py).
    assert codes(document, "GET", "/members", 414) == ["request_line_too_long"]
    assert codes(document, "PATCH", "/members/{member_id}", 409) == ["seat_unavailable"]
    assert codes(document, "POST", "/members/seat-assignments", 409) == ["seat_unavailable"]
    assert codes(document, "POST", "/ownership/transfer", 404) == ["not_found"]
    responses = operation(document, "PUT", "/group-mappings")["responses"]
    assert set(responses) == {"200", "401", "403", "412", "413", "415", "422"}
    assert codes(document, "PUT", "/group-mappings", 422) == ["invalid_mapping"]
    assert set(operation(document, "GET", "/group-mappings")["responses"]) == {
        "200", "401", "403", "404", "406",
    }  # fmt: skip
    # A query is validated (422); an operation with neither query nor body has no 422.
    assert codes(document, "GET", "/audit-events", 422) == ["invalid_input"]
    assert "422" not in operation(document, "GET", "/billing/seats")["responses"]


def test_queries_are_parameters_and_member_ids_are_uuids(document: dict[str, Any]) -> None:
    parameters = {p["name"]: p for p in operation(document, "GET", "/members")["parameters"]}
    assert set(parameters) == {
        "q", "email", "seat_type", "role", "status", "waiting", "not_seen_days", "after",
        "before", "per_page",
    }  # fmt: skip
    assert {p["in"] for p in parameters.values()} == {"query"}
    assert parameters["per_page"]["schema"]["maximum"] == 500
    assert parameters["role"]["schema"]["enum"] == ["member", "admin", "owner", "primary_owner"]
    (member_id,) = operation(document, "GET", "/members/{member_id}")["parameters"]
    assert member_id == {
        "in": "path", "name": "member_id", "required": True,
        "schema": {"type": "string", "format": "uuid"},
    }  # fmt: skip


def test_a_mapping_is_sent_as_yaml_text_or_as_the_json_of_the_mapping_file(
    document: dict[str, Any],
) -> None:
    for method, path in (("PUT", "/group-mappings"), ("POST", "/group-mappings/plan")):
        content = operation(document, method, path)["requestBody"]["content"]
        assert set(content) == set(MAPPING_TYPES)
        assert content["application/yaml"]["schema"] == {"type": "string"}
        assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/Mapping"}
    mapping = document["components"]["schemas"]["Mapping"]
    assert mapping["required"] == ["plan", "rules"] and mapping["additionalProperties"] is False
    if_match = operation(document, "PUT", "/group-mappings")["parameters"]
    assert [(p["in"], p["name"]) for p in if_match] == [("header", "If-Match")]
    answer = operation(document, "GET", "/group-mappings")["responses"]["200"]
    assert set(answer["content"]) == {
        "application/json", "application/yaml", "text/yaml", "application/x-yaml",
    }  # fmt: skip
    assert "ETag" in answer["headers"]


def test_the_audit_log_answers_json_or_an_export_as_json_lines_or_csv(
    document: dict[str, Any],
) -> None:
    answer = operation(document, "GET", "/audit-events")["responses"]["200"]
    assert set(answer["content"]) == {"application/json", "application/x-ndjson", "text/csv"}
    assert answer["content"]["text/csv"]["schema"] == {"type": "string"}


def test_an_answer_has_every_field_it_documents_and_no_other(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    member = schemas["MemberOut"]
    assert (
        member["required"] == sorted(member["properties"]) and "entitlements" in member["required"]
    )
    assert member["additionalProperties"] is False
    assert member["properties"]["display_name"]["type"] == ["string", "null"]
    allocation = schemas["OrganizationOut"]["properties"]["allocation"]
    assert allocation["additionalProperties"] == {"$ref": "#/components/schemas/SeatCountOut"}
    me = schemas["MeOut"]["properties"]
    assert me["member"] == {"$ref": "#/components/schemas/MemberOut"}
    # An error has a code and a message, and the details of its kind besides.
    assert schemas["ErrorDetailOut"]["additionalProperties"] is True
    assert schemas["ErrorDetailOut"]["required"] == ["code", "message"]
