"""What every step of one run shares: the experiment, options, clock, console, journal, target, timeline.

The steps themselves live in their own modules (`services`, `fault_stage`,
`watch`, `finish`); `runner` calls them in lifecycle order.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from brownout.experiments.inputs import save_inputs
from brownout.experiments.journal import Journal, brownout_home
from brownout.experiments.loading import LoadedExperiment
from brownout.experiments.signals import SignalGate
from brownout.experiments.target import TargetSession
from brownout.faults.base import FaultContext
from brownout.rundata.clock import RunClock
from brownout.rundata.run import InputFile
from brownout.rundata.timeline import PhaseWindow, Timeline, TimelineEvent

__all__ = ["DEFAULT_OUT", "Log", "RunOptions", "RunState"]

Log = Callable[..., None]  # log(message, **structured_fields), e.g. brownout.experiments.console.Console

DEFAULT_OUT = Path("reports")
"""Where a run writes `<run-id>/` when `--out` is not given: the repository's top-level `reports/`."""


@dataclass
class RunOptions:
    out_dir: Path | None = None
    dry_run: bool = False
    quiet: bool = False
    workers: int | None = None        # overrides load.workers
    home: Path | None = None          # journal home (BROWNOUT_HOME)
    progress_every: float = 5.0


class RunState:
    """The shared state of one run; side effects of each step live in that step's module."""

    def __init__(self, loaded: LoadedExperiment, options: RunOptions, log: Log) -> None:
        self.loaded = loaded
        self.spec = loaded.spec
        self.options = options
        self.log = log
        self.signals = SignalGate(log)
        self.clock = RunClock()
        self.home = options.home or brownout_home()
        self.journal: Journal | None = None
        self.out_dir: Path | None = None
        self.target: TargetSession | None = None
        self.timeline = Timeline(run_start=self.clock.now())
        self.timeline_lock = threading.Lock()  # recovery waits write fault windows from threads
        self.timeline_closed = False           # set when scoring starts reading: later marks are dropped
        self.inputs: list[InputFile] = []      # the files the experiment read, as kept in the run folder

    def event(self, kind: str, name: str, **detail: Any) -> None:
        self.timeline.events.append(TimelineEvent(self.clock.now(), kind, name, detail))  # type: ignore[arg-type]

    def open_journal(self) -> None:
        document = self.loaded.document_for_results()
        self.journal = Journal.create(self.spec.metadata.name, document, self.home)
        self.out_dir = self.options.out_dir or DEFAULT_OUT / self.journal.run_id
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.journal.append("out_dir", path=str(self.out_dir.resolve()))
        self.inputs = save_inputs(self.loaded.references, self.out_dir)

    def resolve_target(self) -> None:
        self.target = TargetSession(self.loaded, self.out_dir, self.journal, self.signals, self.log,
                                    dry_run=self.options.dry_run)
        self.target.open()

    @property
    def context(self) -> FaultContext:
        return self.target.context if self.target is not None else FaultContext(seed=self.spec.load.seed)

    def phase(self, name: str, start: float, end: float) -> PhaseWindow:
        """Open a phase whose window was fixed when the load was scheduled: set-up work
        (steady-state checks, rollbacks) eats into a phase instead of shifting the rest."""
        window = PhaseWindow(name, start, end)  # type: ignore[arg-type]
        self.timeline.phases.append(window)
        self.event("phase_started", name)
        self.journal.append("phase_started", phase=name, start=start, end=end)
        return window

    def cut_phases(self, at: float) -> None:
        """An aborted run ends its phases when it stopped, so rates are not diluted by time that never ran."""
        for window in self.timeline.phases:
            window.end = min(window.end, max(window.start, at))

    def write_traceback(self) -> Path | None:
        """Keep the traceback of an unexpected error for the bug report; the console gets one line."""
        if self.out_dir is None:
            return None
        path = self.out_dir / "brownout-error.txt"
        path.write_text(traceback.format_exc(), encoding="utf-8")
        return path
