"""The load plan: everything the load subprocess needs, as one JSON file.

The runner writes it to `out_dir/plan.json` and the subprocess reads it back, so
it must round-trip through JSON and must never hold a secret: the API key stays
in the environment variable named by `api_key_env`.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from brownout.spec.load import Load
from brownout.spec.objectives import OutcomeRules
from brownout.http_options import HttpOptions
from brownout.rundata.records import RECORDS_FILE

__all__ = ["RECORDS_FILE", "STATUS_FILE", "LoadPlan"]

STATUS_FILE = "status.json"     # in out_dir: LoadProgress, rewritten every 0.5 s


@dataclass(frozen=True)
class LoadPlan:
    base_url: str                   # e.g. http://127.0.0.1:PORT (no trailing slash needed)
    load: Load
    model: str                      # primary model name, sent in every request
    outcome: OutcomeRules
    start_at: float                 # run-clock seconds: first arrival
    end_at: float                   # run-clock seconds: no request is sent at or after it
    out_dir: Path
    base_dir: Path                  # experiment file's folder, to resolve dataset paths
    headers: dict[str, str] = field(default_factory=dict)  # header templates; ${VAR} resolved by the load process
    api_key_env: str | None = None  # the subprocess reads the key from this variable
    clock_anchor: tuple[float, float] | None = None  # RunClock.anchor of the caller; the local load process reuses it
    http: HttpOptions = field(default_factory=HttpOptions)  # TLS and redirects, as probes and the health check use them

    @property
    def primary_model(self) -> str:
        return self.outcome.primary_model or self.model

    def to_json(self) -> str:
        data: dict[str, Any] = {
            "base_url": self.base_url,
            "load": self.load.model_dump(mode="json"),
            "model": self.model,
            "outcome": self.outcome.model_dump(mode="json"),
            "start_at": self.start_at,
            "end_at": self.end_at,
            "out_dir": str(self.out_dir),
            "base_dir": str(self.base_dir),
            "headers": dict(self.headers),
            "api_key_env": self.api_key_env,
            "clock_anchor": list(self.clock_anchor) if self.clock_anchor is not None else None,
            "http": dataclasses.asdict(self.http),
        }
        return json.dumps(data, indent=2)

    @classmethod
    def from_json(cls, text: str) -> LoadPlan:
        data = json.loads(text)
        anchor = data.get("clock_anchor")
        return cls(
            base_url=data["base_url"],
            load=Load.model_validate(data["load"]),
            model=data["model"],
            outcome=OutcomeRules.model_validate(data["outcome"]),
            start_at=float(data["start_at"]),
            end_at=float(data["end_at"]),
            out_dir=Path(data["out_dir"]),
            base_dir=Path(data["base_dir"]),
            headers=dict(data.get("headers") or {}),
            api_key_env=data.get("api_key_env"),
            clock_anchor=(float(anchor[0]), float(anchor[1])) if anchor else None,
            http=HttpOptions(**data.get("http", {})),
        )
