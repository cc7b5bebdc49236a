from types import SimpleNamespace

import pytest

from brownout.errors import RefusedError
from brownout.experiments.fault_plan import plan_fault_windows
from brownout.spec.faults.common import Schedule, Selection
from brownout.faults.selection import pick


def fault(name, **schedule):
    return SimpleNamespace(name=name, schedule=Schedule(**schedule))


def test_single_window_starts_at_offset_and_lasts_its_duration():
    [w] = plan_fault_windows([fault("a", start=2, duration=5)], 100.0, 20.0, seed=1)
    assert (w.inject_at, w.rollback_at, w.entry_id) == (102.0, 107.0, "a#0")


def test_fault_without_duration_lasts_until_phase_end():
    [w] = plan_fault_windows([fault("a", start=3)], 100.0, 20.0, seed=1)
    assert w.rollback_at == 120.0


def test_repeats_are_clipped_to_the_phase_and_dropped_after_it():
    windows = plan_fault_windows([fault("a", start=0, duration=4, repeat_every=7)], 0.0, 20.0, seed=1)
    assert [(w.inject_at, w.rollback_at) for w in windows] == [(0, 4), (7, 11), (14, 18)]
    windows = plan_fault_windows([fault("b", start=0, duration=4, repeat_every=6)], 0.0, 20.0, seed=1)
    assert [(w.inject_at, w.rollback_at) for w in windows] == [(0, 4), (6, 10), (12, 16), (18, 20)]


def test_jitter_is_seeded_bounded_and_spares_the_first_window():
    spec = [fault("a", start=0, duration=2, repeat_every=5, jitter=1)]
    first = plan_fault_windows(spec, 0.0, 30.0, seed=9)
    again = plan_fault_windows(spec, 0.0, 30.0, seed=9)
    other = plan_fault_windows(spec, 0.0, 30.0, seed=10)
    assert [w.inject_at for w in first] == [w.inject_at for w in again]
    assert [w.inject_at for w in first] != [w.inject_at for w in other]
    assert first[0].inject_at == 0.0
    for i, w in enumerate(first[1:], start=1):
        assert 5 * i <= w.inject_at <= 5 * i + 1


def test_windows_of_several_faults_are_in_time_order():
    windows = plan_fault_windows([fault("late", start=5, duration=1), fault("early", start=1, duration=1)], 0.0, 10.0, 1)
    assert [w.fault.name for w in windows] == ["early", "late"]


def test_pick_is_reproducible_and_respects_modes():
    items = list(range(10))
    assert pick(items, Selection(mode="count", count=3), seed=1, salt="f") == pick(items, Selection(mode="count", count=3), seed=1, salt="f")
    assert len(pick(items, Selection(mode="percent", percent=30), seed=1, salt="f")) == 3
    assert sorted(pick(items, Selection(mode="all", max_share=1.0), seed=1, salt="f")) == items


def test_pick_refuses_nothing_and_too_much():
    with pytest.raises(RefusedError, match="no-targets"):
        pick([], Selection(), seed=1, salt="f")
    with pytest.raises(RefusedError, match="max-share"):
        pick([1, 2], Selection(mode="all"), seed=1, salt="f")
