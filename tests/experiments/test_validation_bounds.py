"""Valid-but-dangerous input is refused at validation, located at its line and field.

Each case is a symptom seen in a run that `validate` had accepted (a traceback, a MemoryError,
a crash while writing results, a literal `${B}` model name, a secret echoed in an error).
"""

from __future__ import annotations

import pytest

from brownout.errors import SpecErrors
from brownout.experiments.loading import load_experiment_text
from tests.experiments.test_loading import MINIMAL

NAME = "exp.yaml"


def _errors(text: str, env: dict | None = None) -> list:
    with pytest.raises(SpecErrors) as info:
        load_experiment_text(text, __import__("pathlib").Path(NAME), env=env or {})
    return info.value.errors


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize(("replace", "by", "field", "message"), [
    ("sandbox: {}", "sandbox: {gpu_memory: " + "9" * 400 + "MiB}", "target.sandbox.gpu_memory", "is not a size"),
    ("sandbox: {}", "sandbox: {gpu_memory: 2000PiB}", "target.sandbox.gpu_memory", "not a size"),
    ("sandbox: {}", "sandbox: {gpu_memory: 4096TiB}", "target.sandbox.gpu_memory", "is larger than 1PiB"),
    ("rate: 5/s", "rate: 50000000/s", "load.arrival.rate", "is faster than 1000000/s"),
    ("rate: 5/s", "rate: " + "1" * 400 + "/s", "load.arrival.rate", "is not a rate"),
    ("baseline: 5s", "baseline: ４s", "phases.baseline", "'４s' is not a duration"),
    ("sandbox: {}", "sandbox: {kv_cache_tokens: " + "7" * 30 + "}", "target.sandbox.kv_cache_tokens", "number out of range"),
])
def test_runaway_numbers_and_non_ascii_digits_are_refused(replace, by, field, message):
    text = MINIMAL.replace(replace, by)
    [error] = _errors(text)
    assert (error.field, error.line) == (field, _line_of(text, by.split(":")[0] + ":" if ":" in by else by))
    assert message in error.message


SLO = "slos:\n  - {name: avail, metric: success_rate, op: '>=', threshold: THRESHOLD}\n"


@pytest.mark.parametrize(("threshold", "message"), [
    ("101%", "beyond 100%"), (".inf", "number out of range"), ("-1", "out of range"), ("1.5", "beyond 100%"),
])
def test_thresholds_beyond_the_metrics_range_are_refused(threshold, message):
    text = MINIMAL + SLO.replace("THRESHOLD", threshold)
    errors = _errors(text)
    assert any(message in e.message and e.line == _line_of(text, "avail") for e in errors), errors


def test_zero_durations_buckets_and_regions_are_checked_against_the_run():
    zero = MINIMAL + "faults:\n  - {name: k, kind: sandbox.replica-kill, schedule: {start: 1s, duration: 0}}\n"
    [error] = _errors(zero)
    assert "duration must be longer than 0" in error.message and error.line == _line_of(zero, "name: k")
    bucket = MINIMAL + "scoring: {bucket: 0.0000001ms}\n"
    assert [(e.field, e.line) for e in _errors(bucket) if "greater than or equal to 0.01" in e.message] == [
        ("scoring.bucket", _line_of(bucket, "bucket"))]
    many = MINIMAL + "scoring: {bucket: 10ms}\n"
    many = many.replace("baseline: 5s, fault: 10s, recovery: 5s", "baseline: 1h, fault: 1h, recovery: 1h")
    [error] = _errors(many)
    assert "over 100000: use a wider bucket" in error.message and error.field == "scoring.bucket"
    assert error.line == _line_of(many, "bucket")
    region = MINIMAL + "faults:\n  - name: down\n    kind: sandbox.region-down\n    region: mars\n"
    [error] = _errors(region)
    assert "region 'mars', which is not in the sandbox (target.sandbox.regions: us-east, eu-west)" in error.message
    assert (error.field, error.line) == ("faults[0].region", _line_of(region, "mars"))


@pytest.mark.parametrize(("value", "what"), [(r'"\ud800 lone"', "an unpaired surrogate U+D800"),
                                             (r'"bell \a here"', "a control character U+0007")])
def test_non_printable_text_is_refused(value, what):
    text = MINIMAL.replace("  name: minimal", f"  name: minimal\n  description: {value}")
    [error] = _errors(text)
    assert what in error.message and error.field == "metadata.description" and error.line == 5


def test_nested_defaults_resolve_and_deeper_nesting_is_refused():
    text = MINIMAL.replace("sandbox: {}", "sandbox: {}\n  model: ${A:-${B}}")
    loaded = load_experiment_text(text, __import__("pathlib").Path(NAME), env={"B": "llama"})
    assert loaded.spec.target.model == "llama"
    deeper = MINIMAL.replace("sandbox: {}", "sandbox: {}\n  model: ${A:-${B:-${C}}}")
    assert any("malformed variable reference" in e.message for e in _errors(deeper))


def test_an_error_about_a_value_from_the_environment_names_the_variable_not_the_value():
    text = MINIMAL.replace("sandbox: {}", "sandbox:\n    replicas_per_region: ${SECRET}")
    [error] = _errors(text, {"SECRET": "hunter2-s3cr3t"})
    assert "hunter2" not in str(error) and "<the value of ${SECRET}>" in str(error)
    assert error.field == "target.sandbox.replicas_per_region"
    bell = MINIMAL.replace("  name: minimal", "  name: minimal\n  description: ${NOTE}")
    [error] = _errors(bell, {"NOTE": "pass\x07word"})
    assert "pass" not in str(error) and "in the value of ${NOTE}" in str(error)


def test_an_unclosed_quote_is_located_where_it_opens():
    text = MINIMAL.replace("  name: minimal", "  name: minimal\n  description: \"never closed") + "#\n" * 20
    [error] = _errors(text)
    assert (error.line, error.column) == (5, 16) and "quoted scalar opened here is never closed" in error.message


def test_env_fields_must_name_a_variable_and_never_echo_what_was_written():
    text = MINIMAL.replace("sandbox: {}", "endpoint: {base_url: 'http://127.0.0.1:1', api_key_env: '${KEY}'}")
    [error] = _errors(text, {"KEY": "sk-live-123456"})
    assert error.field == "target.endpoint.api_key_env" and "sk-live" not in str(error)
    assert "must name an environment variable" in error.message and "KEY, without ${...}" in error.hint
    pasted = MINIMAL.replace("sandbox: {}", "endpoint: {base_url: 'http://127.0.0.1:1', api_key_env: 'sk-live 99'}")
    [error] = _errors(pasted)
    assert "sk-live" not in str(error) and error.line == _line_of(pasted, "api_key_env")


def test_credentials_in_urls_never_reach_results_or_journals():
    from brownout.redact import redact_url

    text = MINIMAL.replace("sandbox: {}", "endpoint: {base_url: 'http://user:pa55@127.0.0.1:1/v1'}\n  model: m")
    loaded = load_experiment_text(text, __import__("pathlib").Path(NAME), env={})
    assert loaded.document_for_results()["target"]["endpoint"]["base_url"] == "http://***@127.0.0.1:1/v1"
    assert loaded.spec.target.endpoint.base_url == "http://user:pa55@127.0.0.1:1/v1"  # the run itself still uses them
    assert redact_url("GET https://a:b@h:1/x -> 401; http://h/ok") == "GET https://***@h:1/x -> 401; http://h/ok"
