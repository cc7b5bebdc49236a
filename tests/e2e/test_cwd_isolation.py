"""Children import brownout from its installation, never from the working directory (`python -P`).

Started from a folder holding a `brownout/` package of its own (a checkout, a vendored copy)
and an `experiments/` folder, a run's children must still import the installed brownout:
before `-P`, `python -m` put the working directory first and they died with ImportError.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.e2e.conftest import processes_with_marker, wait_for

pytestmark = pytest.mark.slow

EXPERIMENT = """\
apiVersion: brownout/v1
kind: Experiment
metadata: {name: cwd-isolation}
target: {sandbox: {regions: [solo], replicas_per_region: 1}}
load:
  arrival: {kind: constant, rate: 2/s}
  dataset: {kind: synthetic, output_tokens: {mean: 4}}
phases: {warmup: 0s, baseline: 2s, fault: 2s, recovery: 1s}
faults:
  - name: slow-embedder
    kind: network.toxic
    proxy: sandbox-embedder
    toxic: {type: latency, latency: 100ms}
    schedule: {start: 0s, duration: 1s}
"""


def test_a_run_from_a_folder_with_its_own_brownout_package_uses_the_installed_one(brownout_env, tmp_path):
    (tmp_path / "brownout").mkdir()
    (tmp_path / "brownout" / "__init__.py").write_text('raise ImportError("the brownout of the working directory")\n')
    (tmp_path / "experiments").mkdir()
    (tmp_path / "experiments" / "x.yaml").write_text(textwrap.dedent(EXPERIMENT))
    command = Path(sys.executable).parent / "brownout"  # the console script, as a user runs it
    done = subprocess.run([str(command), "run", "experiments/x.yaml", "--dry-run", "--out", "out"], cwd=tmp_path,
                          env=brownout_env, capture_output=True, text=True, timeout=120)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output  # sandbox supervisor, its components and the embedded proxy all started
    assert "embedded Toxiproxy-compatible API at" in output and "proxy sandbox-embedder" in output
    assert "the brownout of the working directory" not in output
    assert wait_for(lambda: not processes_with_marker(str(tmp_path)), 10), processes_with_marker(str(tmp_path))
