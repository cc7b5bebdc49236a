"""Experiment spec: pydantic models are the single source of truth for files, schema and docs."""

from brownout.spec.experiment import API_VERSION, Experiment, Metadata, Phases, RollbackPolicy
from brownout.spec.faults import Fault, Schedule, Selection
from brownout.spec.guards import Guard
from brownout.spec.load import Load
from brownout.spec.objectives import SLO, Objective, OutcomeRules, Scoring, SteadyState
from brownout.spec.probes import Probe
from brownout.spec.target import EndpointTarget, SandboxTarget, Target
from brownout.spec.units import Duration, Rate, Size, parse_duration, parse_rate, parse_size

__all__ = [
    "API_VERSION",
    "Duration",
    "EndpointTarget",
    "Experiment",
    "Fault",
    "Guard",
    "Load",
    "Metadata",
    "Objective",
    "OutcomeRules",
    "Phases",
    "Probe",
    "Rate",
    "RollbackPolicy",
    "SLO",
    "SandboxTarget",
    "Schedule",
    "Scoring",
    "Selection",
    "Size",
    "SteadyState",
    "Target",
    "parse_duration",
    "parse_rate",
    "parse_size",
]
