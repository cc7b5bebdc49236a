"""JUnit XML: one test case per SLO and per steady-state check, as CI systems read it.

Valid against the common schema (Jenkins xUnit's junit-10.xsd; tests/reports keeps a copy).
Structure: testsuites > testsuite (slos, steady_state[, run]) > testcase >
failure | skipped. An inconclusive objective is a failure whose message says
there was no data, unless the SLO lets it pass, when it is skipped with that
reason; one a saturated harness could not judge is skipped with the harness's
reasons (the verdict, `inconclusive`, tells CI to retry). A run that did not
complete adds a `run` suite with one errored case. The `slos` suite carries the
run's verdict, exit code, score ("—" when not scored) and harness self-check
as properties.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

from brownout.reports.failures import top_classes
from brownout.reports.fmt import format_score
from brownout.reports.models import ObjectiveResult, WindowMetrics
from brownout.reports.results import RunResults

__all__ = ["render_junit", "write_junit"]


def _case(suite: ET.Element, result: ObjectiveResult, classname: str, window: WindowMetrics | None) -> None:
    seconds = window.end - window.start if window else 0.0
    case = ET.SubElement(suite, "testcase", name=f"{result.name} [{result.phase}]", classname=classname,
                         time=f"{seconds:.3f}")
    detail = f"{result.label} over the {result.phase} window; {result.message}"
    failed_how = top_classes(window) if window is not None else ""
    if result.status == "fail":
        message = f"{result.message}; failed requests: {failed_how}" if failed_how else result.message
        ET.SubElement(case, "failure", message=message, type="objective_failed").text = detail
    elif result.inconclusive_reason == "harness":
        ET.SubElement(case, "skipped", message=f"inconclusive (harness saturated): {result.message}")
    elif result.status == "inconclusive" and not result.passed:
        ET.SubElement(case, "failure", message=f"inconclusive: {result.message}", type="inconclusive").text = detail
    elif result.status == "inconclusive":
        ET.SubElement(case, "skipped", message=f"inconclusive, counted as pass: {result.message}")


def _skipped(result: ObjectiveResult) -> bool:
    return result.inconclusive_reason == "harness" or (result.status == "inconclusive" and result.passed)


def _properties(suite: ET.Element, run: RunResults) -> None:
    """First in the suite, where Surefire writes them and readers look."""
    properties = ET.Element("properties")
    suite.insert(0, properties)
    pairs = [("brownout.verdict", run.verdict), ("brownout.exit_code", str(run.exit_code)),
             ("brownout.score", format_score(run.comparable_score(), 1)),
             ("brownout.harness.saturated", str(run.harness.saturated).lower())]
    pairs += [("brownout.harness.reason", reason) for reason in run.harness.reasons]
    for name, value in pairs:
        ET.SubElement(properties, "property", name=name, value=value)


def _suite(root: ET.Element, name: str, results: list[ObjectiveResult], run: RunResults, timestamp: str) -> ET.Element:
    skipped = sum(_skipped(r) for r in results)
    failures = sum(not r.passed and not _skipped(r) for r in results)
    suite = ET.SubElement(root, "testsuite", name=name, tests=str(len(results)), failures=str(failures),
                          errors="0", skipped=str(skipped), time="0", timestamp=timestamp,
                          hostname=run.environment.host)
    for r in results:
        _case(suite, r, name, run.phases.get(r.phase))
    return suite


def render_junit(results: RunResults) -> str:
    """The JUnit XML document as text."""
    timestamp = datetime.fromtimestamp(results.timeline.run_start, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    root = ET.Element("testsuites", name=f"brownout {results.experiment}")
    prefix = f"brownout.{results.experiment}"
    _properties(_suite(root, f"{prefix}.slos", results.slos, results, timestamp), results)
    _suite(root, f"{prefix}.steady_state", results.steady_state, results, timestamp)
    if results.verdict in ("aborted", "not_steady", "error", "interrupted"):
        suite = ET.SubElement(root, "testsuite", name=f"{prefix}.run", tests="1", failures="0", errors="1",
                              skipped="0", time="0", timestamp=timestamp, hostname=results.environment.host)
        case = ET.SubElement(suite, "testcase", name="run completed", classname=f"{prefix}.run", time="0")
        reasons = [results.message] if results.message else []
        reasons += [f"{e.name}: {e.detail.get('reason', '')}".strip(": ") for e in results.timeline.events
                    if e.kind == "guard_fired"]
        ET.SubElement(case, "error", message=f"run {results.verdict}", type=results.verdict).text = "; ".join(reasons)
    suites = root.findall("testsuite")
    for attr in ("tests", "failures", "errors"):   # junit-10.xsd allows no `skipped` on testsuites
        root.set(attr, str(sum(int(s.get(attr, "0")) for s in suites)))
    root.set("time", f"{(results.timeline.run_end or results.timeline.run_start) - results.timeline.run_start:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(results: RunResults, path: Path) -> Path:
    path = Path(path)
    path.write_text(render_junit(results), encoding="utf-8")
    return path
