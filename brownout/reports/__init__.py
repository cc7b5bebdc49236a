"""Scoring and outputs: window metrics, SLO verdicts, the resilience score, and the reports.

The runner calls `build_results(...)` once the run is over (faults rolled back)
and then `write_all(results, out_dir)`; `write_index(dir)` builds the trends page
over many saved runs. Metric formulas: shared/metrics.md and
`brownout.reports.metrics`.
"""

from brownout.reports.html import render_html, write_html
from brownout.reports.junit import render_junit, write_junit
from brownout.reports.markdown import render_markdown, write_markdown
from brownout.reports.models import (
    BucketMetrics,
    FailoverResult,
    LatencyStats,
    ObjectiveResult,
    ProbeSummary,
    RecoveryResult,
    ScoreComponent,
    WindowMetrics,
)
from brownout.reports.outputs import OUTPUT_NAMES, write_all, write_json
from brownout.reports.raw import read_records_csv, write_records_csv
from brownout.reports.results import (
    EXIT_CODES,
    SCHEMA_VERSION,
    Environment,
    RunResults,
    RunStatus,
    Verdict,
    build_results,
    collect_environment,
)
from brownout.reports.score import resilience_score
from brownout.reports.scoring import (
    bucket_series,
    definitions,
    phase_metrics,
    window_metrics,
)
from brownout.reports.slo import evaluate_slos, evaluate_steady_state
from brownout.reports.trends import find_runs, render_index, write_index

__all__ = [
    "EXIT_CODES",
    "OUTPUT_NAMES",
    "SCHEMA_VERSION",
    "BucketMetrics",
    "Environment",
    "FailoverResult",
    "LatencyStats",
    "ObjectiveResult",
    "ProbeSummary",
    "RecoveryResult",
    "RunResults",
    "RunStatus",
    "ScoreComponent",
    "Verdict",
    "WindowMetrics",
    "bucket_series",
    "build_results",
    "collect_environment",
    "definitions",
    "evaluate_slos",
    "evaluate_steady_state",
    "find_runs",
    "phase_metrics",
    "read_records_csv",
    "render_html",
    "render_index",
    "render_junit",
    "render_markdown",
    "resilience_score",
    "window_metrics",
    "write_all",
    "write_html",
    "write_index",
    "write_json",
    "write_junit",
    "write_markdown",
    "write_records_csv",
]
