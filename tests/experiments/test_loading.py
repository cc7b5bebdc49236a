"""Loading experiment files: every problem located by file, line and field, all at once."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from brownout.errors import SpecError, SpecErrors
from brownout.experiments.loading import (
    MAX_BYTES,
    LoadedExperiment,
    format_field,
    load_experiment,
    load_experiment_text,
    validate_paths,
)
from brownout.spec import Experiment

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FULL = FIXTURES / "valid" / "full.yaml"

MINIMAL = """\
apiVersion: brownout/v1
kind: Experiment
metadata:
  name: minimal
target:
  sandbox: {}
load:
  arrival: {kind: constant, rate: 5/s}
phases: {baseline: 5s, fault: 10s, recovery: 5s}
"""

# file -> [(line, field or None, text in the message or hint)], in the order reported
BROKEN = {
    "alias_bomb": [(1, "d[7][8][8][9]", "expands to more than 10000 values")],
    "bad_duration": [(16, "faults[0].schedule.start", "'2 seconds' is not a duration")],
    "bad_rate": [(10, "load.arrival.rate", "'5 per second' is not a rate")],
    "bad_size": [(7, "target.sandbox.gpu_memory", "'16 gigs' is not a size")],
    "bad_yaml_syntax": [(11, None, "invalid YAML: expected ',' or ']'")],
    "bare_number_duration": [(11, "load.timeout", "a bare number is ambiguous: write the unit, e.g. '10s'")],
    "duplicate_key": [(12, "load.timeout", "duplicate key 'timeout' (first at line 11, again at line 12)")],
    "empty": [(1, None, "the file is empty")],
    "fault_past_phase": [(17, "faults[0].schedule.duration", "fault 'kill-one' runs until 11s, past the 10s fault phase")],
    "missing_required_key": [(19, "phases.recovery", "missing required key 'recovery'")],
    "several_errors": [
        (4, "metadata.name", "'Broken Example' is not a valid name"),
        (10, "load.arrival.rate", "'fast' is not a rate"),
        (20, "phases.fault", "'ten' is not a duration"),
    ],
    "tab_indentation": [(11, None, "indent with spaces")],
    "top_level_list": [(1, None, "the top level must be a mapping")],
    "two_documents": [(22, None, "more than one YAML document")],
    "unknown_fault_kind": [(13, "faults[0].kind", "did you mean 'sandbox.replica-kill'?")],
    "unknown_nested_key": [(17, "faults[0].schedule.duraton", "did you mean 'duration'?")],
    "unknown_top_level_key": [(22, "notes", "unknown key 'notes'")],
    "unset_variable": [(7, "target.model", "environment variable 'BROWNOUT_TEST_UNSET_MODEL' is not set")],
    "wrong_api_version": [(1, "apiVersion", "expected 'brownout/v1', got 'brownout/v2'")],
    "wrong_type": [(12, "load.max_in_flight", "valid integer")],
}


def errors_of(path: Path, env: dict[str, str] | None = None) -> list[SpecError]:
    with pytest.raises(SpecErrors) as caught:
        load_experiment(path, env={} if env is None else env)
    return caught.value.errors


def test_every_broken_fixture_is_covered() -> None:
    assert {p.stem for p in (FIXTURES / "broken").glob("*.yaml")} == set(BROKEN)


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_file_gives_exactly_its_located_errors(name: str) -> None:
    path = FIXTURES / "broken" / f"{name}.yaml"
    errors = errors_of(path)
    assert [(e.line, e.field) for e in errors] == [(line, field) for line, field, _ in BROKEN[name]]
    for error, (_, _, text) in zip(errors, BROKEN[name]):
        assert error.file == str(path)
        assert error.column is not None and error.column >= 1
        assert text in str(error)
        assert "Traceback" not in str(error) and "pydantic" not in str(error)


def test_error_text_reads_file_line_column_field_message_hint() -> None:
    path = FIXTURES / "broken" / "unknown_nested_key.yaml"
    (error,) = errors_of(path)
    assert str(error) == (
        f"{path}:17:7: faults[0].schedule.duraton: unknown key 'duraton' "
        "(hint: did you mean 'duration'? allowed keys: start, duration, repeat_every, jitter)"
    )
    (error,) = errors_of(FIXTURES / "broken" / "bad_duration.yaml")
    assert re.fullmatch(r".*bad_duration\.yaml:16:14: faults\[0\]\.schedule\.start: '2 seconds' is not a duration: .*", str(error))


def test_full_example_loads_with_every_section() -> None:
    loaded = load_experiment(FULL, env={})
    assert isinstance(loaded, LoadedExperiment) and isinstance(loaded.spec, Experiment)
    spec = loaded.spec
    assert loaded.path == FULL and loaded.source == FULL.read_text()
    assert set(loaded.document) == set(Experiment.model_fields)  # every top-level section is spelled out
    assert spec.target.sandbox is not None and spec.target.sandbox.gpu_memory == 16 * 2**30
    assert [f.kind for f in spec.faults] == ["sandbox.replica-kill", "sandbox.gpu-oom", "sandbox.region-down", "sandbox.slow-embeddings"]
    assert spec.faults[2].schedule == spec.faults[1].schedule  # through the YAML alias
    assert spec.load.arrival.kind == "poisson" and spec.load.arrival.rate == 8.0
    assert spec.stop_conditions[0].for_ == 3.0 and spec.scoring.goodput.tpot == pytest.approx(0.1)
    assert spec.slos[0].threshold == pytest.approx(0.95)
    assert loaded.locations["faults[0].schedule.duration"] == (62, 36)
    assert loaded.locations["metadata.labels['app.kubernetes.io/name']"] == (10, 29)


def test_interpolation_uses_env_defaults_and_escapes() -> None:
    text = MINIMAL.replace("  sandbox: {}", "  model: ${MODEL}\n  endpoint:\n    base_url: ${URL:-http://127.0.0.1:9}\n"
                           "    headers: {x-key: '${KEY}', x-lit: 'cost $${HOME} $5', x-empty: '${EMPTY:-dflt}'}")
    loaded = load_experiment_text(text, Path("e.yaml"), env={"MODEL": "m1", "KEY": "s3cret", "EMPTY": ""})
    endpoint = loaded.spec.target.endpoint
    assert loaded.spec.target.model == "m1"
    assert endpoint.base_url == "http://127.0.0.1:9"
    assert endpoint.headers == {"x-key": "s3cret", "x-lit": "cost ${HOME} $5", "x-empty": "dflt"}
    raw = loaded.document_for_results()
    assert raw["target"]["endpoint"]["headers"]["x-key"] == "${KEY}"
    assert "s3cret" not in repr(raw) and loaded.document["target"]["endpoint"]["headers"]["x-key"] == "s3cret"
    raw["target"]["model"] = "changed"  # a copy: results cannot alter the loaded experiment
    assert loaded.raw_document["target"]["model"] == "${MODEL}"


def test_interpolation_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROWNOUT_TEST_MODEL", "from-env")
    loaded = load_experiment_text(MINIMAL.replace("  sandbox: {}", "  sandbox: {}\n  model: ${BROWNOUT_TEST_MODEL}"), Path("e.yaml"))
    assert loaded.spec.target.model == "from-env"


def test_every_unset_variable_and_malformed_reference_is_reported() -> None:
    text = MINIMAL.replace("  name: minimal", "  name: minimal\n  description: ${A} and ${B} and ${oops\n  owner: ${C:-x}")
    with pytest.raises(SpecErrors) as caught:
        load_experiment_text(text, Path("e.yaml"), env={})
    messages = [(e.line, e.field, e.message) for e in caught.value.errors]
    assert messages == [
        (5, "metadata.description", "environment variable 'A' is not set"),
        (5, "metadata.description", "environment variable 'B' is not set"),
        (5, "metadata.description", "malformed variable reference"),
    ]


def test_all_problems_are_reported_in_one_pass() -> None:
    text = MINIMAL.replace("  name: minimal", "  name: minimal\n  name: again\n  owner: ${NOPE}").replace(
        "rate: 5/s", "rate: 5/s, extra: 1")
    with pytest.raises(SpecErrors) as caught:
        load_experiment_text(text, Path("e.yaml"), env={})
    assert [(e.line, e.field) for e in caught.value.errors] == [
        (5, "metadata.name"), (6, "metadata.owner"), (10, "load.arrival.extra")]
    assert str(caught.value).count("\n") == 2


def test_missing_fields_point_at_their_parent_mapping() -> None:
    text = MINIMAL.replace("metadata:\n  name: minimal", "metadata:\n  owner: sre")
    with pytest.raises(SpecErrors) as caught:
        load_experiment_text(text, Path("e.yaml"), env={})
    (error,) = caught.value.errors
    assert (error.line, error.column, error.field) == (4, 3, "metadata.name")
    assert error.message == "missing required key 'name'"


def test_a_rule_across_fields_points_at_their_mapping() -> None:
    text = MINIMAL.replace("  arrival: {kind: constant, rate: 5/s}", "  arrival:\n    kind: constant\n  stream: true")
    with pytest.raises(SpecErrors) as caught:
        load_experiment_text(text, Path("e.yaml"), env={})
    (error,) = caught.value.errors
    assert (error.line, error.column, error.field) == (9, 5, "load.arrival")
    assert "exactly one of rate, shape, output_tokens_per_s" in error.message


def test_missing_or_bad_discriminator_lists_the_kinds() -> None:
    text = MINIMAL + "probes:\n  - name: p\n  - 5\n"
    with pytest.raises(SpecErrors) as caught:
        load_experiment_text(text, Path("e.yaml"), env={})
    first, second = caught.value.errors
    assert (first.line, first.field, first.message) == (11, "probes[0].kind", "missing 'kind'")
    assert "allowed kinds: chat, embeddings" in first.hint
    assert (second.line, second.field, second.message) == (12, "probes[1]", "expected a mapping, got 5")


def test_yaml_merge_keys_and_explicit_keys_win() -> None:
    merged = MINIMAL.replace("phases: {baseline: 5s, fault: 10s, recovery: 5s}",
                             "phases:\n  <<: &d {baseline: 5s, fault: 10s, recovery: 5s}\n  fault: 20s\n"
                             "scoring:\n  <<: *d")
    with pytest.raises(SpecErrors) as caught:  # the merged keys are validated where they land
        load_experiment_text(merged, Path("e.yaml"), env={})
    assert [(e.field, e.line) for e in caught.value.errors] == [
        ("scoring.baseline", 13), ("scoring.fault", 13), ("scoring.recovery", 13)]
    phases = load_experiment_text(merged.replace("scoring:\n  <<: *d", ""), Path("e.yaml"), env={}).spec.phases
    assert (phases.baseline, phases.fault, phases.recovery) == (5.0, 20.0, 5.0)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("a: !!python/object/apply:os.system [echo hi]\n", 1, "unsupported YAML tag"),
        ("a: !!python/name:os.system ''\n", 1, "could not determine a constructor"),
        ("a: !!int nope\n", 1, "invalid value 'nope'"),
        ("a: &x [*x]\n", 1, "levels"),
        ("a: &x {<<: *x}\n", 1, "levels"),
        ("a: &a {}\n" + "".join(f"{c}: &{c} {{<<: [{', '.join(['*' + p] * 10)}]}}\n" for p, c in zip("abcdefgh", "bcdefghi")), 1, "10000 values"),
        ("a: " + "[" * 200 + "]" * 200 + "\n", 1, "nested deeper than 64 levels"),
        ("? [a, b]\n: 1\n", 1, "a key must be a plain value"),
        ("a: \x07\n", 1, "invalid YAML"),
        ("just a string\n", 1, "not a single value"),
        ("a: 1\n<<: [1]\n", 2, "'<<' merges a mapping"),
    ],
)
def test_hostile_or_odd_yaml_is_refused_with_a_location(text: str, line: int, message: str) -> None:
    with pytest.raises(SpecErrors) as caught:
        load_experiment_text(text, Path("odd.yaml"), env={})
    assert caught.value.errors[0].line == line
    assert message in str(caught.value)


def test_huge_file_is_refused_from_its_size_without_reading_it(tmp_path: Path) -> None:
    huge = tmp_path / "huge.yaml"
    with huge.open("wb") as handle:  # sparse: 50 MB that takes no disk and would take long to parse
        handle.truncate(50 * 1024 * 1024)
    started = time.monotonic()
    (error,) = errors_of(huge)
    assert "over the 1024 KiB limit" in error.message and error.file == str(huge)
    assert time.monotonic() - started < 5  # reading and parsing 50 MB would take far longer; not a speed test
    just_over = tmp_path / "over.yaml"
    just_over.write_text("#" * (MAX_BYTES + 1))
    assert "over the 1024 KiB limit" in errors_of(just_over)[0].message


def test_unreadable_inputs_become_located_errors(tmp_path: Path) -> None:
    assert "cannot read file" in errors_of(tmp_path / "missing.yaml")[0].message
    assert "is a directory" in errors_of(tmp_path)[0].message
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(b"apiVersion: brownout/v1\nkind: Exp\xe9riment\n")
    (error,) = errors_of(bad)
    assert (error.line, error.column, error.message) == (2, 10, "file is not valid UTF-8 text")
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    assert "not a regular file" in errors_of(fifo)[0].message  # refused without blocking on open


def test_validate_paths_expands_directories_and_never_raises(tmp_path: Path) -> None:
    (tmp_path / "nested" / "deeper").mkdir(parents=True)
    (tmp_path / "empty").mkdir()
    (tmp_path / "nested" / "b.yml").write_text(MINIMAL)
    (tmp_path / "nested" / "deeper" / "a.yaml").write_text("kind: [\n")
    (tmp_path / "nested" / "notes.txt").write_text("not an experiment")
    results = validate_paths([tmp_path / "nested", tmp_path / "empty", tmp_path / "gone.yaml", FULL])
    assert [p for p, _ in results] == [
        tmp_path / "nested" / "b.yml", tmp_path / "nested" / "deeper" / "a.yaml", tmp_path / "empty", tmp_path / "gone.yaml", FULL]
    problems = [errors for _, errors in results]
    assert problems[0] == [] and problems[4] == []
    assert problems[1][0].line == 2 and "invalid YAML" in problems[1][0].message
    assert "no experiment files" in problems[2][0].message
    assert "cannot read file" in problems[3][0].message


def test_validate_paths_reports_each_broken_fixture() -> None:
    results = validate_paths([FIXTURES / "broken"])
    assert len(results) == len(BROKEN) and all(errors for _, errors in results)


def test_error_at_locates_later_problems_at_the_nearest_field() -> None:
    loaded = load_experiment(FULL, env={})
    error = loaded.error_at("faults[3].latency", "no embedding service", hint="start one")
    assert (error.file, error.line, error.field) == (str(FULL), 73, "faults[3].latency")
    assert loaded.error_at("faults[3].not_there.deeper", "x").line == 71


def test_format_field() -> None:
    assert format_field(("faults", 0, "schedule", "start")) == "faults[0].schedule.start"
    assert format_field(("headers", "x-key")) == "headers.x-key"
    assert format_field(("labels", "app.io/name")) == "labels['app.io/name']"
    assert format_field(()) == ""


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "text"),
    [
        ("probe: canary\n    consecutive", "probe: canari\n    consecutive", 119, "stop_conditions[2].probe", "unknown probe(s) referenced: canari"),
        ("    name: canary\n", "    name: health\n", 50, "probes[1].name", "repeated: health"),
        ("    schedule: {start: 0, duration: 5s}", "    schedule: {start: 20s}", 62, "faults[0].schedule.start", "after the 12s fault phase"),
        ("    profile: resilient", "    profile: resiliant", 13, "target.sandbox.profile", "did you mean 'resilient'?"),
    ],
)
def test_whole_experiment_checks_point_at_the_culprit(old: str, new: str, line: int, field: str, text: str) -> None:
    source = FULL.read_text()
    assert old in source
    with pytest.raises(SpecErrors) as caught:
        load_experiment_text(source.replace(old, new, 1), FULL, env={})
    (error,) = caught.value.errors
    assert (error.line, error.field) == (line, field)
    assert text in str(error)
