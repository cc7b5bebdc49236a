"""Durations, rates and sizes: accepted forms, refusals and their messages, round trips."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from brownout.spec.units import (
    FROM_FILE,
    Duration,
    Rate,
    Size,
    format_duration,
    format_rate,
    format_size,
    parse_duration,
    parse_rate,
    parse_size,
)


class Holder(BaseModel):
    duration: Duration = 0.0
    rate: Rate = 0.0
    size: Size = 0


def from_file(**values: object) -> Holder:
    return Holder.model_validate(values, context={FROM_FILE: True})


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("500ms", 0.5), ("30s", 30.0), ("2m", 120.0), ("1h", 3600.0), ("1h30m", 5400.0), ("1.5s", 1.5),
     ("0.2ms", 0.0002), (" 30s ", 30.0), ("0", 0.0), ("168h", 604800.0)],
)
def test_durations_parse(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("text", "per_second"),
    [("20/s", 20.0), ("600/m", 10.0), ("3600/h", 1.0), ("0.5/s", 0.5), ("5 / s", 5.0), ("0", 0.0)],
)
def test_rates_parse(text: str, per_second: float) -> None:
    assert parse_rate(text) == pytest.approx(per_second)


@pytest.mark.parametrize(
    ("text", "size"),
    [("100B", 100), ("1KB", 1000), ("1KiB", 1024), ("512MiB", 512 * 2**20), ("4GiB", 4 * 2**30),
     ("1.5GB", 1_500_000_000), ("2TiB", 2 * 2**40), ("16 GiB", 16 * 2**30), ("0", 0)],
)
def test_sizes_parse(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize(
    ("parse", "value", "expected"),
    [
        (parse_duration, "30", "'30' is not a duration: use a number and a unit (ms, s, m, h)"),
        (parse_duration, "30 seconds", "'30 seconds' is not a duration"),
        (parse_duration, "-5s", "'-5s' is not a duration"),
        (parse_duration, "5S", "'5S' is not a duration"),
        (parse_duration, "", "'' is not a duration"),
        (parse_duration, "169h", "'169h' is longer than a week"),
        (parse_duration, 30, "a bare number is ambiguous: write the unit, e.g. '30s'"),
        (parse_duration, True, "expected a duration like 500ms, 30s, 2m or 1h30m, got bool"),
        (parse_duration, [1], "expected a duration like 500ms, 30s, 2m or 1h30m, got list"),
        (parse_rate, "5", "'5' is not a rate: write count/unit, e.g. 20/s"),
        (parse_rate, "5 per second", "'5 per second' is not a rate"),
        (parse_rate, "5/ms", "'5/ms' is not a rate"),
        (parse_rate, 20, "a bare number is ambiguous: write the unit, e.g. '20/s'"),
        (parse_rate, None, "expected a rate like 20/s or 600/m, got NoneType"),
        (parse_size, "16", "'16' is not a size: write a number and a unit (B, KB, MB, GB, KiB, MiB, GiB), e.g. 4GiB"),
        (parse_size, "16 gigs", "'16 gigs' is not a size"),
        (parse_size, "4gib", "'4gib' is not a size"),
        (parse_size, 4096, "a bare number is ambiguous: write the unit, e.g. '4096MiB'"),
        (parse_size, {"a": 1}, "expected a size like 512MiB or 4GiB, got dict"),
    ],
)
def test_refusals_say_what_to_write(parse, value: object, expected: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse(value)
    assert expected in str(caught.value)


def test_bare_numbers_refused_from_files_but_accepted_from_python() -> None:
    assert Holder(duration=30, rate=5, size=1024) == Holder(duration=30.0, rate=5.0, size=1024)
    for field, number in (("duration", 30), ("rate", 5), ("size", 1024)):
        with pytest.raises(ValidationError) as caught:
            from_file(**{field: number})
        assert "a bare number is ambiguous" in str(caught.value)
    assert from_file(duration=0, rate=0, size=0) == Holder()
    assert from_file(duration="30s", rate="5/s", size="1KiB") == Holder(duration=30, rate=5, size=1024)


@pytest.mark.parametrize("value", [-1, -0.5, math.inf, math.nan])
@pytest.mark.parametrize("field", ["duration", "rate", "size"])
def test_negative_and_non_finite_numbers_refused_everywhere(field: str, value: float) -> None:
    for build in (lambda: Holder(**{field: value}), lambda: from_file(**{field: value})):
        with pytest.raises(ValidationError) as caught:
            build()
        assert ("cannot be negative" in str(caught.value)) or ("must be a finite number" in str(caught.value))


@pytest.mark.parametrize(
    ("size", "text"),
    [(16 * 2**30, "16GiB"), (512 * 2**20, "512MiB"), (2048, "2KiB"), (1_500_000_000, "1500MB"),
     (1000, "1KB"), (2 * 2**40, "2TiB"), (1_000_001, "1000001B"), (0, "0")],
)
def test_sizes_format_in_the_largest_exact_unit(size: int, text: str) -> None:
    assert format_size(size) == text
    assert Holder(size=size).model_dump(mode="json")["size"] == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(3600, "1h"), (120, "2m"), (90, "90s"), (1.5, "1500ms"), (0.0002, "0.2ms"), (1e-7, "0.0001ms"), (0, "0")],
)
def test_durations_format_exactly(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(("rate", "text"), [(10, "10/s"), (1 / 60, "1/m"), (1 / 3600, "1/h"), (0.5, "30/m"), (0, "0")])
def test_rates_format_in_whole_counts(rate: float, text: str) -> None:
    assert format_rate(rate) == text


@settings(max_examples=300, deadline=None)
@given(
    seconds=st.floats(min_value=1e-6, max_value=7 * 24 * 3600, allow_nan=False),
    rate=st.floats(min_value=1e-6, max_value=1e6, allow_nan=False),
    size=st.integers(min_value=0, max_value=2**50),
)
def test_formatted_values_load_back(seconds: float, rate: float, size: int) -> None:
    dumped = Holder(duration=seconds, rate=rate, size=size).model_dump(mode="json")
    loaded = from_file(**dumped)
    assert loaded.duration == pytest.approx(seconds, rel=1e-9, abs=1e-12)
    assert loaded.rate == pytest.approx(rate, rel=1e-9)
    assert loaded.size == size
