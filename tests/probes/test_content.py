"""Content checks and the JSON-schema subset (pure), and the spec refusing what they cannot check."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from brownout.spec.probes import ContentCheck
from brownout.spec.checks import content_failure
from brownout.spec.jsonschema import schema_error

SCHEMA = {
    "type": "object",
    "required": ["city", "population"],
    "additionalProperties": False,
    "properties": {
        "city": {"type": "string", "pattern": "^[A-Z]", "minLength": 2},
        "population": {"type": "integer", "minimum": 0},
        "tags": {"type": "array", "items": {"enum": ["capital", "port"]}, "maxItems": 2},
        "note": {"anyOf": [{"type": "null"}, {"type": "string"}]},
    },
}


@pytest.mark.parametrize(
    "doc, error",
    [
        ({"city": "Paris", "population": 2100000, "tags": ["capital"], "note": None}, None),
        ({"city": "Paris"}, "$: missing required 'population'"),
        ({"city": "paris", "population": 1}, "$.city: 'paris' does not match /^[A-Z]/"),
        ({"city": "Paris", "population": -1}, "$.population: -1 < 0 (minimum)"),
        ({"city": "Paris", "population": True}, "$.population: expected integer, got boolean"),
        ({"city": "Paris", "population": 1.0}, None),
        ({"city": "Paris", "population": 1, "tags": ["river"]}, "$.tags[0]: 'river' is not one of ['capital', 'port']"),
        ({"city": "Paris", "population": 1, "x": 1}, "$: unexpected property 'x'"),
        ({"city": "Paris", "population": 1, "note": 3}, "$.note: matches none of anyOf"),
        ([], "$: expected object, got array"),
    ],
)
def test_schema_subset(doc, error):
    assert schema_error(doc, SCHEMA) == error


def test_content_failures_name_what_was_expected():
    assert content_failure(ContentCheck(contains="PARIS"), "it is paris") is None
    assert content_failure(ContentCheck(equals="Paris"), "Lyon") == "is not 'Paris' (got 'Lyon')"
    long = "word " * 40
    assert content_failure(ContentCheck(contains="Paris"), long).endswith("...')")
    assert content_failure(ContentCheck(json_schema={"type": "object"}), "{").startswith("is not JSON (")


def test_spec_refuses_unsupported_schema_keywords_and_bad_regex():
    with pytest.raises(ValidationError, match=r"keywords brownout does not check: \$ref, uniqueItems"):
        ContentCheck(json_schema={"type": "array", "uniqueItems": True, "items": {"$ref": "#/x"}})
    with pytest.raises(ValidationError, match="regex does not compile"):
        ContentCheck(regex="(")
    assert ContentCheck(json_schema={"title": "answer", "type": "string"}).json_schema is not None
