"""The kind -> class tables: every entry is right, every spec kind has one, and a plain run
does not pay for the Kubernetes client it never uses."""

from __future__ import annotations

import subprocess
import sys
import typing

from brownout.spec.faults import Fault
from brownout.spec.probes import Probe
from brownout.faults.registry import DRIVERS
from brownout.probes.registry import CHECKS


def _kinds(union) -> set[str]:
    members = typing.get_args(typing.get_args(union)[0])
    return {typing.get_args(m.model_fields["kind"].annotation)[0] for m in members}


def test_every_entry_names_a_class_of_its_own_kind():
    assert DRIVERS.check() == []
    assert CHECKS.check() == []


def test_every_spec_kind_has_a_driver_or_check():
    assert _kinds(Fault) <= set(DRIVERS)
    assert _kinds(Probe) == set(CHECKS)


def test_loading_the_runner_and_cli_does_not_import_kubernetes():
    code = "import sys, brownout.cli, brownout.experiments.runner; print(sorted(m for m in sys.modules if m.split('.')[0] == 'kubernetes'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
