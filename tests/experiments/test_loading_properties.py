"""Property: whatever a file holds, loading gives a valid experiment or located SpecErrors, never another exception."""

from __future__ import annotations

import copy
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brownout.errors import SpecErrors
from brownout.experiments.loading import LoadedExperiment, load_experiment_text

FULL = Path(__file__).resolve().parents[1] / "fixtures" / "valid" / "full.yaml"
SOURCE = FULL.read_text()
DOCUMENT = yaml.safe_load(SOURCE)
NAME = Path("generated.yaml")
ENV = {"X": "5s", "BROWNOUT_MODEL": "m"}
SETTINGS = dict(deadline=timedelta(seconds=3), suppress_health_check=[HealthCheck.too_slow], derandomize=True)

TOKENS = [
    ":", ": ", "-", "- ", "[", "]", "{", "}", ",", "&a", "*a", "!!", "!!str ", "!!int ", "!!python/name:os.system",
    "|", ">", "'", '"', "#", "%", "@", "`", "?", " ", "  ", "\n", "\n  ", "\t", "$", "${X}", "${", "$${", "\\",
    "---", "...", "<<", "apiVersion", "kind", "faults", "schedule", "start", "5s", "1GiB", "20/s", "7", "1e9",
    "null", "yes", "é", "\x07", "\ufeff", "a", "z", "0",
]
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(),
    st.text(max_size=12),
    st.sampled_from(["5s", "0", "-1s", "20/s", "1GiB", "${X}", "${NOPE}", "$${X}", "${", "sandbox.gpu-oom",
                     "brownout/v1", "Experiment", "kill-one", "p95", "95%", "<=", "chat", "constant", "all"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


def paths_of(node: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths_of(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += paths_of(value, (*prefix, index))
    return found


def mutate(document: dict, path: tuple, operation: str, key: str, value: Any) -> Any:
    """One edit at `path`: replace its value, delete it, add a key next to it, or rename it."""
    if not path:
        return value if operation == "replace" else {**document, key: value}
    parent = document
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if operation == "replace":
        parent[last] = value
    elif operation == "delete":
        del parent[last]
    elif operation == "add" and isinstance(parent, dict):
        parent[key] = value
    elif operation == "rename" and isinstance(parent, dict):
        parent[key] = parent.pop(last)
    return document


def check(text: str) -> None:
    try:
        loaded = load_experiment_text(text, NAME, env=ENV)
    except SpecErrors as exc:
        assert exc.errors, "SpecErrors without errors"
        for error in exc.errors:
            assert error.file == str(NAME)
            assert error.message
            if error.field is not None:
                assert error.line is not None and error.line >= 1, error
                assert error.column is not None and error.column >= 1, error
            assert str(error).startswith(f"{NAME}")
    else:
        assert isinstance(loaded, LoadedExperiment)


@settings(max_examples=1000, **SETTINGS)
@given(st.lists(st.sampled_from(TOKENS), max_size=60).map("".join))
def test_yaml_ish_text(text: str) -> None:
    check(text)


@settings(max_examples=400, **SETTINGS)
@given(
    edits=st.lists(
        st.tuples(
            st.integers(min_value=0),
            st.sampled_from(["replace", "delete", "add", "rename"]),
            st.sampled_from(["duraton", "kind", "name", "start", "extra", "schedule", "for", "<<", "1"]) | st.text(max_size=6),
            VALUES,
        ),
        min_size=1,
        max_size=3,
    )
)
def test_mutated_experiment_documents(edits: list[tuple[int, str, str, Any]]) -> None:
    document: Any = copy.deepcopy(DOCUMENT)
    for index, operation, key, value in edits:
        if not isinstance(document, dict):
            break
        paths = paths_of(document)
        document = mutate(document, paths[index % len(paths)], operation, key, value)
    check(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))


@settings(max_examples=500, **SETTINGS)
@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=len(SOURCE)), st.integers(min_value=0, max_value=20),
                  st.sampled_from(TOKENS)),
        min_size=1,
        max_size=4,
    )
)
def test_corrupted_experiment_text(splices: list[tuple[int, int, str]]) -> None:
    text = SOURCE
    for at, length, insert in splices:
        text = text[:at] + insert + text[at + length:]
    check(text)


def test_the_unmutated_example_is_valid() -> None:
    """The properties above start from a valid experiment, or they would test only one kind of failure."""
    check(SOURCE)
    assert load_experiment_text(SOURCE, NAME, env=ENV).spec.metadata.name == "full-example"
