"""What the OpenAPI document says about each route: real success codes and models, errors, parameters."""

from __future__ import annotations

import json
from typing import Any

import pytest
from certwright.api.app import openapi_document


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(openapi_document())
    return loaded


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, ops in document["paths"].items() for method, op in ops.items()]


def test_creates_answer_201_with_the_resource(document: dict[str, Any]) -> None:
    answers = document["paths"]["/certificates"]["post"]["responses"]
    assert "200" not in answers
    assert answers["201"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/CertificateOut"}
    created = document["components"]["schemas"]["CertificateOut"]
    assert {"id", "name", "lifecycleState", "currentVersion"} <= set(created["properties"])


def test_every_error_is_code_and_message_and_403_is_declared_everywhere(document: dict[str, Any]) -> None:
    for path, method, op in _operations(document):
        answers = op["responses"]
        if path == "/openapi.json":
            continue
        assert "403" in answers, (method, path)
        for status, answer in answers.items():
            if int(status) >= 400:
                schema = answer["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorOut"}, (method, path, status)
            else:
                assert int(status) in (200, 201, 204, 304), (method, path, status)
    error = document["components"]["schemas"]["ErrorOut"]
    assert set(error["required"]) == {"code", "message"}
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_no_success_answer_is_a_bare_string(document: dict[str, Any]) -> None:
    for path, method, op in _operations(document):
        for status, answer in op["responses"].items():
            schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
            assert schema.get("type") != "string", (method, path, status)


# The filters every inventory list takes (docs/inventory.md).
INVENTORY_FILTERS = {"name", "namePrefix", "lifecycleState", "tag", "sortBy", "sortOrder"}
SEARCHABLE = {"/certificates", "/certificate-authorities", "/ca-bundles", "/associations"}


@pytest.mark.parametrize(
    ("path", "method", "names"),
    [
        (
            "/certificates",
            "get",
            {"limit", "page", "serialNumber", "fingerprintSha256", *INVENTORY_FILTERS, "san", "hostname", "inUse"}
            | {"deploymentState", "issuerCertificateAuthorityId", "notAfterBefore", "notAfterAfter"},
        ),
        (
            "/certificate-authorities",
            "get",
            {"limit", "page", *INVENTORY_FILTERS, "issuerCertificateAuthorityId", "serialNumber"}
            | {"notAfterBefore", "notAfterAfter"},
        ),
        ("/ca-bundles", "get", {"limit", "page", *INVENTORY_FILTERS, "inUse"}),
        ("/associations", "get", {"limit", "page", "certificateId", "deploymentState", "state", "sortBy", "sortOrder"}),
        ("/audit-events", "get", {"resourceId", "limit", "page", "nextToken"}),
        (
            "/certificates/{certificate_id}/bundle",
            "get",
            {"certificate_id", "stage", "versionNumber", "includePrivateKey"},
        ),
        ("/ca-bundles/{bundle_id}/bundle", "get", {"bundle_id", "stage", "versionNumber"}),
        ("/certificates/{certificate_id}/versions/{number}", "get", {"certificate_id", "number"}),
    ],
)
def test_query_and_path_parameters_are_declared(
    document: dict[str, Any], path: str, method: str, names: set[str]
) -> None:
    parameters = {p["name"]: p for p in document["paths"][path][method]["parameters"]}
    assert set(parameters) == names
    if "limit" in parameters:
        maximum = 1000 if path in SEARCHABLE else 100
        assert parameters["limit"]["schema"]["maximum"] == maximum and parameters["limit"]["schema"]["minimum"] == 1
    if "resourceId" in parameters:
        assert parameters["resourceId"]["required"] is True


@pytest.mark.parametrize(
    ("path", "config_types"),
    [
        ("/certificates", {"ISSUED_BY_INTERNAL_CA", "MANAGED_EXTERNALLY_ISSUED_BY_INTERNAL_CA", "IMPORTED"}),
        (
            "/certificate-authorities",
            {
                "ROOT_CA_GENERATED_INTERNALLY",
                "SUBORDINATE_CA_ISSUED_BY_INTERNAL_CA",
                "ROOT_CA_MANAGED_EXTERNALLY",
                "SUBORDINATE_CA_MANAGED_INTERNALLY_ISSUED_BY_EXTERNAL_CA",
            },
        ),
    ],
)
def test_a_create_body_is_one_model_per_config_type(
    document: dict[str, Any], path: str, config_types: set[str]
) -> None:
    schema = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert schema["discriminator"]["propertyName"] == "configType"
    assert set(schema["discriminator"]["mapping"]) == config_types
    assert len(schema["oneOf"]) == len(config_types)
    components = document["components"]["schemas"]
    for tag, ref in schema["discriminator"]["mapping"].items():
        variant = components[ref.rsplit("/", 1)[1]]
        assert variant["additionalProperties"] is False
        assert variant["properties"]["configType"]["const"] == tag
