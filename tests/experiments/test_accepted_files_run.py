"""Property: every file `validate` accepts survives a dry run and the scoring of an empty run.

Files are generated around a small experiment on a sandbox (started once, attached by every dry
run) by varying the values that once broke runs `validate` had accepted: numbers, units, thresholds,
regions, schedules, buckets and free text.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brownout.errors import SpecErrors
from brownout.experiments.loading import load_experiment_text
from brownout.experiments.runner import RunOptions, RunStatus, run_experiment
from brownout.rundata.timeline import PhaseWindow, Timeline
from brownout.rundata.records import load_records
from brownout.reports import build_results, collect_environment, write_all
from tests.support.sandboxes import detached_sandbox

def _mostly(valid: list, odd: list) -> st.SearchStrategy:
    """Valid values most of the time, so that many files pass validation and reach the dry run."""
    return st.sampled_from(valid * 12 + odd)


DURATIONS = _mostly(["1s", "500ms", "2s"], ["0", "1ms", "169h", "４s", "1e3s", "9" * 30 + "s", "-1s", 0, 3])
THRESHOLDS = st.one_of(_mostly(["99%", "0.5", "1"], ["101%", "0%", ".inf", "-1", "1e300", "nan"]),
                       st.floats(min_value=0, max_value=1), st.floats(allow_nan=True),
                       st.integers(min_value=-(2**70), max_value=2**70))
TEXT = st.text(max_size=8)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    with detached_sandbox(tmp_path_factory.mktemp("sb"), regions=["us-east"], replicas_per_region=1) as handle:
        yield handle


def _document(control: str, v: dict) -> dict:
    return {
        "apiVersion": "brownout/v1", "kind": "Experiment",
        "metadata": {"name": "prop", "description": v["text"]},
        "target": {"sandbox": {"attach": control}, "model": v["model"]},
        "load": {"arrival": {"kind": "constant", "rate": v["rate"]}, "timeout": v["timeout"]},
        "phases": {"warmup": "0s", "baseline": v["baseline"], "fault": "10s", "recovery": "2s"},
        "faults": [{"name": "f", "kind": v["kind"], **({"region": v["region"]} if v["kind"] == "sandbox.region-down" else {}),
                    "schedule": {"start": "0s", "duration": v["fault_duration"]}}],
        "slos": [{"name": "avail", "metric": "success_rate", "op": ">=", "threshold": v["threshold"]}],
        "scoring": {"bucket": v["bucket"]},
    }


VALUES = st.fixed_dictionaries({
    "text": st.one_of(_mostly(["chaos", ""], []), _mostly(["game day"], []), TEXT), "model": _mostly(["m", "${A:-${B}}"], ["${A:-${B:-${C}}}", "é\ud800"]),
    "rate": _mostly(["5/s", "2/s"], ["0", "1" * 40 + "/s", "２/s", "10000000/s", "1e2/s"]),
    "timeout": DURATIONS, "baseline": DURATIONS, "fault_duration": DURATIONS, "bucket": DURATIONS,
    "kind": st.sampled_from(["sandbox.region-down", "sandbox.gpu-oom", "sandbox.replica-kill"]),
    "region": _mostly(["us-east"], ["mars"]), "threshold": THRESHOLDS,
})


def test_every_accepted_file_survives_a_dry_run_and_empty_scoring(sandbox, tmp_path_factory):
    accepted: list[str] = []

    @settings(max_examples=25, deadline=timedelta(seconds=20), derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(values=VALUES)
    def check(values: dict) -> None:
        source = yaml.safe_dump(_document(sandbox.control_url, values), allow_unicode=True)
        try:
            loaded = load_experiment_text(source, Path("prop.yaml"), env={"B": "llama"})
        except SpecErrors:
            return  # refused, located: fine
        accepted.append(source)
        survives(loaded, tmp_path_factory.mktemp("run"))

    check()
    assert len(accepted) >= 3, "the strategy should make some files valid"


def survives(loaded, work: Path) -> None:
    outcome = run_experiment(loaded, RunOptions(dry_run=True, out_dir=work / "out", home=work / "home", quiet=True),
                             log=lambda *a, **k: None)
    assert not (work / "out" / "results.json").exists()  # a dry run writes no results, failed or not
    assert outcome.status is RunStatus.DRY_RUN or not outcome.message.startswith("unexpected"), outcome.message
    spec = loaded.spec
    timeline = Timeline(run_start=0.0)
    start = 0.0
    for name in ("warmup", "baseline", "fault", "recovery"):
        length = getattr(spec.phases, name)
        timeline.phases.append(PhaseWindow(name, start, start + length))
        start += length
    timeline.run_end = start
    results = build_results(spec, loaded.document_for_results(), load_records([]), [], timeline,
                            status="passed", environment=collect_environment(1))
    write_all(results, work / "scored", load_records([]))
    assert results.verdict in ("passed", "failed", "inconclusive")
