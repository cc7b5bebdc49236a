"""A run's folder as scoring reads it: where each saved file lives, and `run.json`.

The runner writes `run.json` (what scoring needs besides the records and probe
results: the validated experiment, the timeline, how the run ended, what it
measured of its own health) after the load and probes have stopped and before
anything is scored. Scoring then reads only the folder, so a run can be
re-scored later from what it saved (`brownout.reports.saved.score_folder`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from brownout.rundata.harness import HarnessObservations
from brownout.rundata.records import RECORDS_FILE
from brownout.rundata.timeline import Timeline

__all__ = ["INPUTS_DIR", "RUN_FILE", "InputFile", "RunFacts", "RunFolder"]

RUN_FILE = "run.json"
INPUTS_DIR = "inputs"


class InputFile(BaseModel):
    """One file the experiment read (an included fragment or a data file), as the run used it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str = Field(description="Where the experiment names it: `probes[0]`, `load.dataset.path`.")
    written: str = Field(description="The path as written, relative to the file that names it.")
    kind: str = Field(description="`include` (a fragment spliced into the experiment) or `data` (read by the run).")
    sha256: str
    bytes: int
    kept: str | None = Field(None, description="The copy kept in the run folder (relative to it); None when too large.")


@dataclass(frozen=True)
class RunFolder:
    """The saved files of one run, relative to its folder."""

    path: Path

    @property
    def run_file(self) -> Path:
        return self.path / RUN_FILE

    @property
    def probes(self) -> Path:
        return self.path / "probes.jsonl"

    @property
    def metrics(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def load_dir(self) -> Path:
        return self.path / "load"

    @property
    def records(self) -> Path:
        return self.load_dir / RECORDS_FILE


@dataclass
class RunFacts:
    """What scoring needs of a run besides its records and probe results."""

    spec: dict[str, Any]            # the validated experiment as JSON (credentials in URLs redacted): what is judged
    document: dict[str, Any]        # the experiment as written (uninterpolated, redacted): copied into the results
    timeline: Timeline
    status: str                     # how the run ended (`reports.results.RunStatus`)
    message: str = ""
    exit_code: int | None = None    # set when the run's end decides it (a signal), else from the verdict
    environment: dict[str, Any] = field(default_factory=dict)
    harness: HarnessObservations | None = None
    records_paths: list[str] = field(default_factory=list)
    inputs: list[InputFile] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "spec": self.spec,
            "document": self.document,
            "timeline": self.timeline.to_dict(),
            "status": self.status,
            "message": self.message,
            "exit_code": self.exit_code,
            "environment": self.environment,
            "harness": self.harness.model_dump(mode="json") if self.harness is not None else None,
            "records_paths": self.records_paths,
            "inputs": [i.model_dump(mode="json") for i in self.inputs],
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> RunFacts:
        harness = raw.get("harness")
        return cls(
            spec=raw["spec"],
            document=raw["document"],
            timeline=Timeline.from_dict(raw["timeline"]),
            status=raw["status"],
            message=raw.get("message", ""),
            exit_code=raw.get("exit_code"),
            environment=raw.get("environment", {}),
            harness=HarnessObservations.model_validate(harness) if harness is not None else None,
            records_paths=list(raw.get("records_paths", [])),
            inputs=[InputFile.model_validate(i) for i in raw.get("inputs", [])],
        )

    def write(self, folder: RunFolder) -> Path:
        folder.path.mkdir(parents=True, exist_ok=True)
        tmp = folder.run_file.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=1, allow_nan=True), encoding="utf-8")
        tmp.replace(folder.run_file)  # whole or absent: a crash never leaves half a run.json
        return folder.run_file

    @classmethod
    def read(cls, folder: RunFolder) -> RunFacts:
        return cls.from_dict(json.loads(folder.run_file.read_text(encoding="utf-8")))
