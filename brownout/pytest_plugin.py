"""brownout as a pre-release gate inside pytest.

`pytest --brownout experiments/ci/` collects every experiment file (YAML with
`apiVersion: brownout/v1` and `kind: Experiment`) as one test item that runs the
experiment; its SLOs are the assertions. A failed SLO or steady-state check fails
the item with the numbers; an aborted, not-steady or errored run fails it with
the reason. Reports go to `--brownout-out` (default `reports/pytest/<file>`), and
the item's JUnit properties carry verdict, score and report path.

The `brownout_run` fixture lets a project's own tests run an experiment:

    def test_gateway_survives_a_region_loss(brownout_run):
        outcome = brownout_run("experiments/dr-drill.yaml", env={"REGION": "us-east"})
        assert outcome.status.value == "passed", outcome.findings

Without `--brownout`, YAML files are left alone, so the plugin can stay installed.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from brownout.errors import SpecError

__all__ = ["ExperimentFile", "ExperimentItem", "brownout_run", "failure_text", "is_experiment_file",
           "pytest_addoption", "pytest_collect_file", "pytest_configure"]

_HEAD = re.compile(r"^apiVersion:\s*['\"]?brownout/v\d+['\"]?\s*$.*^kind:\s*['\"]?Experiment['\"]?\s*$|"
                   r"^kind:\s*['\"]?Experiment['\"]?\s*$.*^apiVersion:\s*['\"]?brownout/v\d+", re.MULTILINE | re.DOTALL)
_SNIFF_BYTES = 64 * 1024


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("brownout", "brownout resilience experiments")
    group.addoption("--brownout", action="store_true", default=False,
                    help="collect brownout experiment files (*.yaml, *.yml) as test items that run them")
    group.addoption("--brownout-out", default="reports/pytest", metavar="DIR",
                    help="where each experiment's reports go, one folder per file (default: reports/pytest)")
    group.addoption("--brownout-workers", type=int, default=None, metavar="N",
                    help="override load.workers of every collected experiment")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "brownout: a collected brownout experiment file")


def is_experiment_file(path: Path) -> bool:
    """A YAML file whose top level says `apiVersion: brownout/v1` and `kind: Experiment`."""
    if path.suffix not in (".yaml", ".yml"):
        return False
    try:
        with path.open(encoding="utf-8", errors="replace") as fh:
            head = fh.read(_SNIFF_BYTES)
    except OSError:
        return False
    return bool(_HEAD.search(head))


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if parent.config.getoption("brownout") and is_experiment_file(file_path):
        return ExperimentFile.from_parent(parent, path=file_path)
    return None


class ExperimentFile(pytest.File):
    """One experiment file: validated at collection (a bad file is a collection error naming file:line)."""

    def collect(self) -> Iterator[ExperimentItem]:
        from brownout.experiments.loading import load_experiment

        try:
            loaded = load_experiment(self.path)
        except SpecError as exc:
            raise self.CollectError(str(exc)) from exc
        yield ExperimentItem.from_parent(self, name=loaded.spec.metadata.name, loaded=loaded)


class ExperimentItem(pytest.Item):
    """Runs one experiment; passes iff brownout's verdict is `passed`."""

    def __init__(self, *, loaded: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.loaded = loaded
        self.add_marker("brownout")

    def runtest(self) -> None:
        config = self.config
        out = Path(config.getoption("brownout_out"))
        out = out if out.is_absolute() else Path(config.rootpath) / out
        lines: list[str] = []
        try:
            outcome = _run(self.loaded, out / self.path.stem, lambda message, **_fields: lines.append(message),
                           workers=config.getoption("brownout_workers"))
        finally:
            self.add_report_section("call", "brownout log", "\n".join(lines))
        for key, value in (("verdict", outcome.status.value), ("score", outcome.score),
                           ("report", outcome.outputs.get("html"))):
            if value is not None:
                self.user_properties.append((f"brownout.{key}", str(value)))
        if outcome.status.value != "passed":
            pytest.fail(failure_text(outcome), pytrace=False)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"brownout experiment: {self.name}"


def failure_text(outcome: Any) -> str:
    """Why an experiment item failed: the verdict, the run's message, each unmet objective, the report."""
    lines = [f"brownout verdict: {outcome.status.value}"
             + ("" if outcome.score is None else f" (resilience score {outcome.score:.0f}/100)")]
    if outcome.message:
        lines.append(outcome.message)
    lines += [f"  not met: {finding}" for finding in outcome.findings]
    if outcome.outputs.get("html"):
        lines.append(f"report: {outcome.outputs['html']}")
    return "\n".join(lines)


def _run(loaded: Any, out_dir: Path, log: Callable[..., None], **options: Any) -> Any:
    """`log(message, **structured_fields)` as the runner calls it; the fields are for machine-readable logs."""
    from brownout.experiments.runner import RunOptions, run_experiment

    return run_experiment(loaded, RunOptions(**{"out_dir": out_dir, "quiet": True, **options}), log=log)


@pytest.fixture
def brownout_run(tmp_path: Path) -> Callable[..., Any]:
    """`brownout_run(path, *, env=None, **options) -> RunOutcome`: run one experiment from a test.

    `env` adds to the environment that `${VAR}` in the file reads; `options` are
    `RunOptions` fields (`out_dir` defaults to a fresh folder under `tmp_path`,
    `quiet` to True). Loading errors raise `SpecError`; the outcome is returned
    whatever the verdict, for the test to assert on. The run's log goes to
    stderr, which pytest captures and shows when the test fails.
    """
    from brownout.experiments.loading import load_experiment

    def run(path: str | os.PathLike[str], *, env: Mapping[str, str] | None = None, **options: Any) -> Any:
        path = Path(path)
        loaded = load_experiment(path, env={**os.environ, **(env or {})})
        out_dir = Path(options.pop("out_dir", None) or tmp_path / f"brownout-{path.stem}")
        return _run(loaded, out_dir, lambda message, **_fields: print(message, file=sys.stderr, flush=True), **options)

    return run
