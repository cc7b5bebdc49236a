"""The strict base and `Name`: unknown keys fail, models are immutable, names say what they may hold."""

from __future__ import annotations

import re

import pytest
from pydantic import Field, ValidationError

from brownout.spec.base import NAME_PATTERN, Name, StrictModel
from brownout.spec.units import Duration


class Sample(StrictModel):
    name: Name
    for_: Duration = Field(0.0, alias="for")


@pytest.mark.parametrize("name", ["a", "kill-one", "us-east.1", "a_b", "x" * 63, "0"])
def test_valid_names(name: str) -> None:
    assert Sample(name=name).name == name


@pytest.mark.parametrize("name", ["", "Kill", "kill one", "-kill", "kill-", "x" * 64, "kill/one", "é"])
def test_invalid_names_explain_the_rule(name: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Sample(name=name)
    assert f"'{name}' is not a valid name: use 1 to 63 lower-case letters" in str(caught.value)
    assert not re.match(NAME_PATTERN, name)


def test_unknown_keys_are_errors() -> None:
    with pytest.raises(ValidationError) as caught:
        Sample.model_validate({"name": "a", "nmae": "b"})
    assert caught.value.errors()[0]["type"] == "extra_forbidden"


def test_models_are_frozen_and_accept_field_names_or_aliases() -> None:
    sample = Sample.model_validate({"name": "a", "for": 2.0})
    assert sample == Sample(name="a", for_=2.0)
    with pytest.raises(ValidationError):
        sample.name = "b"  # type: ignore[misc]


def test_name_pattern_is_in_the_json_schema() -> None:
    prop = Sample.model_json_schema()["properties"]["name"]
    assert prop["pattern"] == NAME_PATTERN
    assert "Lower-case identifier" in prop["description"]


def test_shares_take_percentages_like_slo_thresholds() -> None:
    from brownout.spec.objectives import Scoring, SteadyState
    from brownout.spec.units import FROM_FILE

    scoring = Scoring.model_validate({"error_budget": "1%", "recovery_tolerance": "20%"}, context={FROM_FILE: True})
    assert (scoring.error_budget, scoring.recovery_tolerance) == (0.01, 0.2)
    assert SteadyState.model_validate({"min_probe_success": "80%"}).min_probe_success == 0.8
