"""Scoring as a pure function of a run's saved folder.

The runner saves `run.json`, the records and the probe runs, then calls
`score_saved(load_saved(folder))`: what a run is judged on is exactly what it
left on disk, so the same folder scores the same later (`brownout report
--rescore`), and scoring needs no package of the runner, load generator or probes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from brownout.reports.results import RunResults, build_results
from brownout.rundata.gauges import Sample, load_samples
from brownout.rundata.probes import ProbeResult, load_probe_results
from brownout.rundata.records import load_records
from brownout.rundata.run import RunFacts, RunFolder
from brownout.spec import Experiment

__all__ = ["SavedRun", "load_saved", "score_saved"]


@dataclass(frozen=True)
class SavedRun:
    folder: RunFolder
    facts: RunFacts
    spec: Experiment
    records: pd.DataFrame
    probes: list[ProbeResult]
    gauges: list[Sample]


def load_saved(path: Path) -> SavedRun:
    """Read a run folder written by `brownout run` (FileNotFoundError: no `run.json` there)."""
    folder = RunFolder(Path(path))
    facts = RunFacts.read(folder)
    return SavedRun(folder, facts, Experiment.model_validate(facts.spec),
                    load_records([folder.records] if folder.records.exists() else []),
                    load_probe_results(folder.probes), load_samples(folder.metrics))


def score_saved(saved: SavedRun) -> RunResults:
    """The results of a saved run: the steady state is re-judged on its complete records."""
    facts = saved.facts
    return build_results(
        saved.spec, facts.document, saved.records, saved.probes, facts.timeline,
        status=facts.status,  # type: ignore[arg-type]
        message=facts.message,
        environment=facts.environment,
        exit_code=facts.exit_code,
        harness=facts.harness,
        records_paths=facts.records_paths,
        inputs=facts.inputs,
        gauges=saved.gauges,
    )
