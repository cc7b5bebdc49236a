"""The run's helpers that produce data: the load process, the probe runner, the metrics sampler.

Each is started here, watched by `watch`, stopped by `stop`; what they write
(records, probe runs, gauges) goes into the run folder for scoring.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from brownout.errors import BrownoutError, LoadError
from brownout.experiments.selfcheck import MachineReading, observations, read_machine
from brownout.experiments.state import RunState
from brownout.rundata.harness import HarnessObservations
from brownout.rundata.probes import ProbeResult
from brownout.rundata.records import load_records
from brownout.rundata.run import RunFolder
from brownout.rundata.timeline import FAULT_DRIFT_WARNING

if TYPE_CHECKING:
    import pandas as pd

    from brownout.loadgen.control import LoadRun
    from brownout.probes.metrics_sampler import MetricSampler
    from brownout.probes.runner import ProbeRunner

__all__ = ["LOAD_EXIT_SLACK", "Services"]

LOAD_EXIT_SLACK = 10.0
"""Seconds past `load.drain` the load process gets to write its last records and exit."""


class Services:
    """Load, probes and metrics of one run (each None until started, or when the experiment has none)."""

    def __init__(self, run: RunState) -> None:
        self.run = run
        self.load_run: LoadRun | None = None
        self.probe_runner: ProbeRunner | None = None
        self.sampler: MetricSampler | None = None
        self.load_end = 0.0
        self.machine_start: MachineReading | None = None
        self.machine_end: MachineReading | None = None

    @property
    def folder(self) -> RunFolder:
        return RunFolder(self.run.out_dir)

    def check_load_inputs(self) -> None:
        """Files the load needs (the tokenizer's ranks file) are checked now, as located spec errors,
        rather than when the load process fails to start mid-run; golden sets too."""
        from brownout.loadgen.tokenizer import load_tokenizer
        from brownout.probes.golden import check_golden_sets

        loaded = self.run.loaded
        try:
            load_tokenizer(self.run.spec.load.tokenizer, loaded.path.parent)
        except LoadError as exc:
            raise loaded.error_at("load.tokenizer.encoding_file", str(exc)) from exc
        check_golden_sets(self.run.spec.probes, loaded.path.parent, loaded.error_at)

    def start_probes(self) -> None:
        run = self.run
        if not run.spec.probes:
            return
        from brownout.probes import ProbeRunner, ProbeTarget

        target = ProbeTarget(base_url=run.target.base_url, clock=run.clock, headers=run.target.auth_headers(),
                             model=run.spec.target.model, http=run.target.http_options(),
                             base_dir=run.loaded.path.parent)
        self.probe_runner = ProbeRunner(list(run.spec.probes), target, self.folder.probes)
        self.probe_runner.start()
        run.journal.append("probes_started", count=len(run.spec.probes))

    def start_metrics(self) -> None:
        """Record GPU memory, KV-cache and queue gauges for the whole run (the sandbox's replicas by default)."""
        from brownout.probes.metrics_sampler import MetricSampler
        from brownout.spec.metrics import MetricsEndpoint, MetricsSampling

        run = self.run
        sampling = run.spec.metrics
        if sampling is None and run.target.sandbox is not None:
            replicas = [c for c in run.target.sandbox.state().get("components", []) if c.get("role") == "replica"]
            endpoints = [MetricsEndpoint(name=c["name"], url=f"{c['url']}/metrics") for c in replicas]
            sampling = MetricsSampling(endpoints=endpoints) if endpoints else None
        if sampling is None:
            return
        self.sampler = MetricSampler(sampling, run.clock, self.folder.metrics)
        self.sampler.start()

    def start_load(self, start_at: float, end_at: float) -> None:
        from brownout.loadgen import LoadPlan, start_load

        run = self.run
        load = run.spec.load
        self.load_end = end_at
        if run.options.workers:
            load = load.model_copy(update={"workers": run.options.workers})
        endpoint = run.spec.target.endpoint
        plan = LoadPlan(
            base_url=run.target.base_url,
            load=load,
            model=run.spec.target.model,
            outcome=run.target.outcome_rules(),
            start_at=start_at,
            end_at=end_at,
            out_dir=self.folder.load_dir,
            base_dir=run.loaded.path.parent,
            headers=run.target.header_templates(),
            clock_anchor=run.clock.anchor,  # load records and the fault timeline on exactly one time axis
            api_key_env=endpoint.api_key_env if endpoint else None,
            http=run.target.http_options(),
        )
        with run.signals.deferred():
            self.load_run = start_load(plan, run_id=run.journal.run_id, on_spawn=run.journal.on_spawn())

    def warn_if_load_started_late(self, start: float) -> None:
        """A load process that was ready after its first planned arrival sent those arrivals late."""
        progress = self.load_run.progress() if self.load_run is not None else None
        late = progress.ready_at - start if progress is not None and progress.ready_at is not None else 0.0
        if late > FAULT_DRIFT_WARNING:
            self.run.log(f"WARNING: the load process was ready {late:.2f}s after its first planned arrival (a slow "
                         "start on a busy machine): the first arrivals went out late, as their schedule lag shows",
                         event="load_started_late", level="warning", late=round(late, 3))

    def finish_load(self) -> None:
        """Let the load end by itself: in-flight requests get `load.drain` and are recorded with what they
        measured (only the rest are `abandoned`). A load process that outstays its drain is stopped."""
        self.machine_end = read_machine()
        if self.load_run is None:
            return
        try:
            self.load_run.wait(self.run.spec.load.drain + LOAD_EXIT_SLACK)
        except BrownoutError:
            self.run.log(f"the load process outstayed its {self.run.spec.load.drain:g}s drain; stopping it")
            self.load_run.stop()

    def current_records(self) -> pd.DataFrame:
        return load_records(self.load_run.record_paths() if self.load_run else [])

    def probe_results(self) -> list[ProbeResult]:
        return self.probe_runner.results() if self.probe_runner else []

    def harness(self) -> HarnessObservations | None:
        """The machine and load-process figures of the self-check so far (None when the load never started)."""
        if self.machine_start is None:
            return None
        end = self.machine_end or read_machine()
        return observations(self.machine_start, end, self.load_run.progress() if self.load_run is not None else None)

    def stoppable(self) -> list[tuple[str, object, str | None]]:
        """(name, helper, journal name) of each running helper, in stopping order."""
        return [("probes", self.probe_runner, None), ("metrics sampler", self.sampler, None),
                ("load", self.load_run, "load")]
