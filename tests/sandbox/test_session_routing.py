"""Session affinity as pure routing choices: a preference on the resilient profile, a pin for good on the fragile one."""

from __future__ import annotations

from brownout.sandbox.routing import Affinity, Upstream, fragile_pick, resilient_plan


def _upstreams() -> list[Upstream]:
    return [
        Upstream("home-0", "home", "http://h0", "m", healthy=True, in_flight=0),
        Upstream("home-1", "home", "http://h1", "m", healthy=True, in_flight=3),
        Upstream("away-0", "away", "http://a0", "m", healthy=True),
    ]


def test_resilient_prefers_the_pinned_replica_while_it_is_usable_then_fails_over():
    ups = _upstreams()
    assert [u.name for u in resilient_plan(ups, "m", "home", 8, pinned="home-1")] == ["home-1", "home-0", "away-0"]
    for u in ups[:2]:
        u.healthy = False  # the home region is down
    assert [u.name for u in resilient_plan(ups, "m", "home", 8, pinned="home-1")] == ["away-0"]
    assert [u.name for u in resilient_plan(ups, "m", "home", 8, pinned="gone")] == ["away-0"]


def test_fragile_keeps_a_session_on_its_replica_whatever_its_health():
    ups = _upstreams()
    ups[1].healthy = False
    assert [fragile_pick(ups, "m", "home", i, pinned="home-1").name for i in range(3)] == ["home-1"] * 3  # type: ignore[union-attr]
    assert [fragile_pick(ups, "m", "home", i).name for i in range(3)] == ["home-0", "home-1", "home-0"]  # type: ignore[union-attr]
    assert fragile_pick(ups, "other-model", "home", 0, pinned="home-1") is None


def test_affinity_remembers_the_last_replica_and_forgets_the_least_recent():
    pins = Affinity(capacity=2)
    pins.pin("a", "home-0")
    pins.pin("b", "home-1")
    assert pins.get("a") == "home-0"   # a is now the most recent
    pins.pin("c", "away-0")
    assert (pins.get("a"), pins.get("b"), pins.get("c")) == ("home-0", None, "away-0")
    pins.pin("a", "away-0")
    assert pins.get("a") == "away-0"
    pins.pin(None, "home-0")
    assert pins.get(None) is None and len(pins.pins) == 2
