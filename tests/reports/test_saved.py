"""Scoring is a pure function of a run's saved folder: scored again, it gives the same verdict,
with no package of the runner, load generator, probes, faults or sandbox imported."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "runs" / "tiny-region-down"
"""A real fragile-sandbox run of tests/reports/experiments/tiny-region-down.yaml (region down, users see
errors): run.json, load/records.jsonl and probes.jsonl as `brownout run` saved them, and in expected.json
the verdict, score and SLO values that run's own results.json held. Regenerate both together when
scoring changes on purpose."""

SCORE_IN_A_CLEAN_PROCESS = """
import json, sys
from pathlib import Path
from brownout.reports.saved import load_saved, score_saved
results = score_saved(load_saved(Path(sys.argv[1])))
loaded = sorted({m.split(".")[1] for m in sys.modules if m.startswith("brownout.") and m.count(".") >= 1})
print(json.dumps({"verdict": results.verdict, "score": results.score,
                  "slos": {s.name: [s.passed, s.actual] for s in results.slos}, "packages": loaded}))
"""


def test_a_saved_run_scores_the_same_with_only_the_vocabulary_and_scoring_imported(tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(FIXTURE, folder)  # moved from where it was written: paths in run.json are relative
    out = subprocess.run([sys.executable, "-P", "-c", SCORE_IN_A_CLEAN_PROCESS, str(folder)], capture_output=True,
                         text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(FIXTURE.parents[3])}, check=True)
    got = json.loads(out.stdout)
    expected = json.loads((FIXTURE / "expected.json").read_text())
    assert {k: got[k] for k in expected} == expected
    assert expected["verdict"] == "failed" and 0 < expected["score"] < 100  # a run that says something
    assert set(got["packages"]) <= {"reports", "rundata", "spec", "errors", "exit_codes"}, got["packages"]


def test_report_rescore_rewrites_the_outputs_from_the_saved_folder(tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(FIXTURE, folder)
    out = subprocess.run([sys.executable, "-m", "brownout", "report", str(folder), "--rescore"], capture_output=True,
                         text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    results = json.loads((folder / "results.json").read_text())
    assert results["verdict"] == "failed" and (folder / "report.html").is_file() and (folder / "records.csv.gz").is_file()
    empty = tmp_path / "empty"
    empty.mkdir()
    refused = subprocess.run([sys.executable, "-m", "brownout", "report", str(empty), "--rescore"], capture_output=True,
                             text=True, timeout=120, cwd=tmp_path)
    assert refused.returncode == 2 and "no run.json" in refused.stderr + refused.stdout
