"""`brownout schema` is a JSON Schema editors can use: whatever the loader accepts validates
against it (the `jsonschema` library is the judge), names read like the YAML, and every
property says what it is for."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from brownout.errors import SpecErrors
from brownout.experiments.loading import load_experiment, load_experiment_text
from brownout.experiments.schema import SCHEMA_ID, TEMPLATE, experiment_json_schema
from tests.experiments.test_loading_properties import DOCUMENT, ENV, NAME, SETTINGS, VALUES, mutate, paths_of

REPO = Path(__file__).resolve().parents[2]
SCHEMA = experiment_json_schema()
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
EXPERIMENT_FILES = sorted(
    p for p in [*REPO.glob("experiments/**/*.yaml"), *REPO.glob("tests/**/*.yaml")]
    if "broken" not in p.parts and p.read_text().lstrip().startswith(("apiVersion", "#"))
)


def _schema_problems(document: Any) -> list[str]:
    return [f"{'.'.join(map(str, e.path))}: {e.message[:200]}" for e in VALIDATOR.iter_errors(document)]


def test_the_schema_is_valid_draft_2020_12_and_names_itself():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema" and SCHEMA["$id"] == SCHEMA_ID
    assert SCHEMA["title"].startswith("brownout experiment") and SCHEMA["description"]
    assert {"apiVersion", "kind", "metadata", "target", "load", "phases"} <= set(SCHEMA["required"])
    sandbox = SCHEMA["$defs"]["SandboxTarget"]
    assert sandbox["additionalProperties"] is False
    assert sandbox["properties"]["gpu_memory"]["default"] == "16GiB"       # units as files write them
    assert SCHEMA["$defs"]["Phases"]["properties"]["warmup"]["default"] == "2s"


@pytest.mark.parametrize("path", EXPERIMENT_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_experiment_file_the_loader_accepts_validates_against_the_schema(path: Path):
    try:
        load_experiment(path, env={"BROWNOUT_SANDBOX_PROFILE": "fragile", "TOXIPROXY_URL": "http://127.0.0.1:1"})
    except SpecErrors:
        pytest.skip("not a complete experiment without its test's environment")   # e.g. templates a test fills
    assert _schema_problems(yaml.safe_load(path.read_text())) == []


def test_the_catalogue_is_all_there():
    names = {p.name for p in EXPERIMENT_FILES}
    assert {"quickstart.yaml", "game-day.yaml", "ci-gate.yaml", "full.yaml"} <= names


def test_definition_names_are_readable_and_every_property_is_described():
    for name in SCHEMA["$defs"]:
        assert re.fullmatch(r"[A-Z][A-Za-z0-9]*", name), name        # no `RampShape_Annotated_float__...`
    assert {"RampShapeRate", "RampShapeUsers"} <= set(SCHEMA["$defs"])
    undescribed = [f"{holder}.{prop}" for holder, schema in [("(top)", SCHEMA), *SCHEMA["$defs"].items()]
                   for prop, value in schema.get("properties", {}).items() if not value.get("description")]
    assert undescribed == []


def test_unit_thresholds_and_templates_are_file_forms():
    for good in ({"threshold": "95%"}, {"threshold": "2s"}, {"threshold": 0.5}, {"threshold": "${SLO_P95:-2s}"}):
        slo = {"name": "x", "metric": "ttft", "stat": "p95", "op": "<=", "phase": "fault", **good}
        assert _schema_problems({**DOCUMENT, "slos": [slo]}) == [], good
    bad = {**DOCUMENT, "phases": {**DOCUMENT["phases"], "fault": "ten seconds"}}
    assert _schema_problems(bad) and not re.fullmatch(TEMPLATE["pattern"], "ten seconds")
    templated = copy.deepcopy(DOCUMENT)
    templated["target"]["sandbox"]["profile"] = "${PROFILE:-fragile}"                       # an enum
    templated["load"]["timeout"] = "${TIMEOUT:-5s}"                                         # a duration
    assert _schema_problems(templated) == []


@settings(max_examples=150, **SETTINGS)
@given(edits=st.lists(st.tuples(st.integers(min_value=0), st.sampled_from(["replace", "delete", "add"]),
                                st.sampled_from(["start", "extra", "rate", "name"]), VALUES), min_size=1, max_size=2))
def test_what_the_loader_accepts_the_schema_accepts(edits):
    document: Any = copy.deepcopy(DOCUMENT)
    for index, operation, key, value in edits:
        paths = paths_of(document)
        document = mutate(document, paths[index % len(paths)], operation, key, value)
        if not isinstance(document, dict):
            return
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    try:
        load_experiment_text(text, NAME, env=ENV)
    except SpecErrors:
        return
    assert _schema_problems(yaml.safe_load(text)) == [], text


def test_brownout_schema_prints_it():
    proc = subprocess.run([sys.executable, "-m", "brownout", "schema"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and json.loads(proc.stdout) == json.loads(json.dumps(SCHEMA))
