"""Fragments and data files an experiment names: resolved relative to the file naming them, kept inside
the repository root unless allowed, errors located in the file that holds the mistake."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from brownout.errors import SpecErrors
from brownout.experiments.inputs import save_inputs
from brownout.experiments.loading import load_experiment, load_experiment_text, validate_paths
from brownout.probes.golden import check_golden_sets
from brownout.spec.files import data_files

REPO = Path(__file__).resolve().parents[2]
FOR_REAL_MODELS = {"probes/golden/openai-canary.jsonl"}
"""Shared files the sandbox cannot answer (a real model's facts and arithmetic): a commented alternative."""

HEAD = """\
apiVersion: brownout/v1
kind: Experiment
metadata: {name: refs}
target: {sandbox: {}}
phases: {baseline: 5s, fault: 10s, recovery: 5s}
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository root (it holds .git) with the card's folders."""
    (tmp_path / ".git").mkdir()
    for folder in ("experiments/fragments", "probes", "loadgen/profiles"):
        (tmp_path / folder).mkdir(parents=True)
    return tmp_path


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _errors(path: Path, **kwargs) -> list:
    with pytest.raises(SpecErrors) as caught:
        load_experiment(path, env={}, **kwargs)
    return caught.value.errors


CANARIES = """\
- {name: a, kind: chat, prompt: hi, expect: {contains: x}, interval: 1s}
- {name: b, kind: chat, prompt: hello, expect: {contains: x}, interval: 1s}
"""


def test_included_lists_splice_in_order_and_a_mapping_fragment_is_the_value(repo):
    _write(repo / "probes" / "canaries.yaml", CANARIES)
    _write(repo / "loadgen" / "prompts.jsonl", '{"prompt": "x"}\n')
    _write(repo / "loadgen" / "profiles" / "file.yaml", "kind: jsonl\npath: ../prompts.jsonl\n")  # relative to the fragment
    exp = _write(repo / "experiments" / "e.yaml", HEAD + """\
load:
  arrival: {kind: constant, rate: 5/s}
  dataset: {include: ../loadgen/profiles/file.yaml}
probes:
  - {name: first, kind: chat, prompt: x, expect: {contains: x}, interval: 1s}
  - include: ../probes/canaries.yaml
  - {name: last, kind: chat, prompt: y, expect: {contains: x}, interval: 1s}
""")
    loaded = load_experiment(exp, env={})
    assert [p.name for p in loaded.spec.probes] == ["first", "a", "b", "last"]
    assert loaded.spec.load.dataset.path == str(repo / "loadgen" / "prompts.jsonl")
    assert [(r.field, r.kind, r.path) for r in loaded.references] == [
        ("load.dataset", "include", repo / "loadgen" / "profiles" / "file.yaml"),
        ("probes[1]", "include", repo / "probes" / "canaries.yaml"),
        ("load.dataset.path", "data", repo / "loadgen" / "prompts.jsonl"),
    ]
    assert loaded.raw_document["probes"][2]["name"] == "b"  # results record the content used, spliced


def test_a_mistake_in_a_fragment_is_located_in_the_fragment(repo):
    fragment = _write(repo / "probes" / "canaries.yaml", CANARIES.replace("interval: 1s}\n", "intervl: 1s}\n", 1))
    exp = _write(repo / "experiments" / "e.yaml", HEAD + "load: {arrival: {kind: constant, rate: 5/s}}\n"
                 "probes:\n  - {name: first, kind: chat, prompt: x, expect: {contains: x}}\n  - include: ../probes/canaries.yaml\n")
    [error] = _errors(exp)
    assert (error.file, error.line, error.field) == (str(fragment), 1, "probes[1].intervl")
    assert "unknown key 'intervl'" in error.message


def test_broken_yaml_in_a_fragment_and_a_missing_fragment_are_located(repo):
    broken = _write(repo / "experiments" / "fragments" / "slos.yaml", "- {name: x, metric: success_rate\n")
    exp = _write(repo / "experiments" / "e.yaml", HEAD + "load: {arrival: {kind: constant, rate: 5/s}}\n"
                 "slos:\n  - include: fragments/slos.yaml\n  - include: fragments/missing.yaml\n")
    [error] = _errors(exp)
    assert error.file == str(broken) and error.line in (1, 2) and "invalid YAML" in error.message
    _write(broken, "- {name: x, metric: success_rate, op: '>=', threshold: 90%}\n")
    [error] = _errors(exp)
    assert (error.file, error.line, error.field) == (str(exp), 9, "slos[1]")
    assert "cannot include 'fragments/missing.yaml'" in error.message


def test_paths_that_leave_the_repository_root_are_refused_unless_allowed(repo, tmp_path_factory):
    outside = tmp_path_factory.mktemp("elsewhere")
    _write(outside / "canaries.yaml", CANARIES)
    _write(outside / "prompts.jsonl", '{"prompt": "x"}\n')
    exp = _write(repo / "experiments" / "e.yaml", HEAD + f"""\
load:
  arrival: {{kind: constant, rate: 5/s}}
  dataset: {{kind: jsonl, path: {outside / 'prompts.jsonl'}}}
probes:
  - include: {outside / 'canaries.yaml'}
""")
    [error] = _errors(exp)  # the include is refused while parsing: the data file is not reached
    assert (error.file, error.line, error.field) == (str(exp), 10, "probes[0]")
    assert "outside the repository root" in error.message and "--allow-path" in error.hint
    loaded = load_experiment(exp, env={}, allow=[outside])
    assert [p.name for p in loaded.spec.probes] == ["a", "b"]
    exp.write_text(exp.read_text().replace(f"  - include: {outside / 'canaries.yaml'}\n", "  []\n").replace("probes:\n", "probes:"))
    [error] = _errors(exp)
    assert (error.field, error.line) == ("load.dataset.path", 8) and "outside the repository root" in error.message
    assert load_experiment(exp, env={"BROWNOUT_ALLOW_PATHS": str(outside)}).spec.load.dataset.path.startswith(str(outside))


def test_a_missing_data_file_and_an_include_cycle_are_errors(repo):
    _write(repo / "experiments" / "fragments" / "loop.yaml", "- include: loop.yaml\n")
    exp = _write(repo / "experiments" / "e.yaml", HEAD + "load:\n  arrival: {kind: constant, rate: 5/s}\n"
                 "  dataset: {kind: sharegpt, path: ../loadgen/nope.json}\n")
    [error] = _errors(exp)
    assert (error.field, error.line) == ("load.dataset.path", 8) and "no such file" in error.message
    exp.write_text(HEAD + "load: {arrival: {kind: constant, rate: 5/s}}\nfaults:\n  - include: fragments/loop.yaml\n")
    [error] = _errors(exp)
    assert error.file == str(repo / "experiments" / "fragments" / "loop.yaml") and "inside itself" in error.message


def test_include_stands_alone(repo):
    exp = _write(repo / "experiments" / "e.yaml", HEAD + "load: {arrival: {kind: constant, rate: 5/s}}\n"
                 "probes:\n  - {include: x.yaml, name: extra}\n")
    [error] = _errors(exp)
    assert error.line == 8 and "stands alone" in error.message


def test_the_run_keeps_a_copy_and_the_hash_of_every_file_it_read(repo, tmp_path_factory):
    _write(repo / "probes" / "canaries.yaml", CANARIES)
    data = _write(repo / "loadgen" / "prompts.jsonl", '{"prompt": "x"}\n')
    exp = _write(repo / "experiments" / "e.yaml", HEAD + "load:\n  arrival: {kind: constant, rate: 5/s}\n"
                 "  dataset: {kind: jsonl, path: ../loadgen/prompts.jsonl}\nprobes:\n  - include: ../probes/canaries.yaml\n")
    run_dir = tmp_path_factory.mktemp("run")
    saved = save_inputs(load_experiment(exp, env={}).references, run_dir)
    assert [(s.field, s.kind, s.sha256) for s in saved] == [
        ("probes[0]", "include", hashlib.sha256(CANARIES.encode()).hexdigest()),
        ("load.dataset.path", "data", hashlib.sha256(data.read_bytes()).hexdigest()),
    ]
    assert (run_dir / saved[1].kept).read_bytes() == data.read_bytes()
    assert json.loads(saved[1].model_dump_json())["bytes"] == data.stat().st_size


def test_every_reference_in_the_catalogue_resolves_and_comes_from_the_cards_folders():
    catalogue = REPO / "experiments"
    assert [(path.name, problems) for path, problems in validate_paths([catalogue]) if problems] == []
    used = set()
    for path in sorted(catalogue.glob("*.yaml")):
        loaded = load_experiment(path, env={"TOXIPROXY_URL": "http://127.0.0.1:1"})
        used |= {r.path.resolve().relative_to(REPO).parts[0] for r in loaded.references}
        assert all(value.startswith("/") for _, value in data_files(loaded.spec))
    assert {"loadgen", "probes", "experiments"} <= used
    for folder in ("loadgen", "probes"):  # every shared workload and probe set is used by the catalogue
        files = {p.resolve() for p in (REPO / folder).rglob("*") if p.is_file() and p.name != "README.md"}
        referenced = {r.path.resolve() for path in catalogue.glob("*.yaml")
                      for r in load_experiment(path, env={"TOXIPROXY_URL": "http://127.0.0.1:1"}).references}
        unused = {p for p in files - referenced if p.relative_to(REPO).as_posix() not in FOR_REAL_MODELS}
        assert unused == set(), f"{folder}/ files no catalogue experiment uses"
    text = "".join(p.read_text() for p in catalogue.glob("*.yaml"))
    for name in FOR_REAL_MODELS:  # shown as a commented alternative, and valid as what it is
        assert f"../{name}" in text
        loaded = load_experiment_text(HEAD + "load: {arrival: {kind: constant, rate: 5/s}}\n"
                                      f"probes:\n  - {{name: g, kind: golden, path: {REPO / name}}}\n",
                                      REPO / "experiments" / "check.yaml", env={})
        check_golden_sets(loaded.spec.probes, REPO, loaded.error_at)
