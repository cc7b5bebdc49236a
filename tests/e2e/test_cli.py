"""The command line as a user meets it: exit codes and messages, never a traceback."""

import json
import subprocess
import sys

from tests.e2e.conftest import run_brownout


def test_validate_broken_files_prints_located_errors_and_exits_2(brownout_env):
    proc = run_brownout(["validate", "tests/fixtures/broken"], brownout_env, timeout=60)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    broken = {line.split(":")[1].strip().rsplit("/", 1)[-1] for line in errors}
    assert {"bad_duration.yaml", "unknown_nested_key.yaml", "unset_variable.yaml", "alias_bomb.yaml"} <= broken
    assert "error: tests/fixtures/broken/bad_duration.yaml:16:14: faults[0].schedule.start:" in proc.stderr


def test_validate_the_catalogue_passes(brownout_env):
    proc = run_brownout(["validate", "experiments"], brownout_env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "ok: experiments/quickstart.yaml" in proc.stdout


def test_run_of_an_invalid_file_exits_2_without_touching_anything(brownout_env, tmp_path):
    proc = run_brownout(["run", "tests/fixtures/broken/unknown_top_level_key.yaml", "--out", str(tmp_path / "out")], brownout_env)
    assert proc.returncode == 2
    assert "unknown key 'notes'" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "home").exists()


def test_schema_is_json_schema_for_experiments(brownout_env):
    proc = run_brownout(["schema"], brownout_env, timeout=60)
    schema = json.loads(proc.stdout)
    assert schema["$schema"].endswith("2020-12/schema")
    assert {"apiVersion", "kind", "metadata", "target", "load", "phases"} <= set(schema["properties"])


def test_recover_with_nothing_open_says_so(brownout_env):
    proc = run_brownout(["recover"], brownout_env, timeout=60)
    assert proc.returncode == 0 and "nothing to recover" in proc.stdout


def test_a_missing_tokenizer_file_is_a_located_input_error_before_anything_starts(brownout_env, tmp_path):
    experiment = tmp_path / "tok.yaml"
    experiment.write_text(
        "apiVersion: brownout/v1\nkind: Experiment\nmetadata: {name: tok}\ntarget:\n  sandbox: {}\n"
        "load:\n  arrival: {kind: constant, rate: 1/s}\n"
        "  tokenizer: {kind: tiktoken, encoding_file: missing.tiktoken}\n"
        "phases: {baseline: 2s, fault: 2s, recovery: 2s}\n"
    )
    proc = run_brownout(["run", str(experiment), "--out", str(tmp_path / "out")], brownout_env, timeout=60)
    assert proc.returncode == 2
    assert f"{experiment}:8:" in proc.stderr and "load.tokenizer.encoding_file" in proc.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "home").exists()


def test_sandbox_by_hand_keeps_its_state_under_brownout_home_from_any_directory(brownout_env, tmp_path):
    def sandbox(action: str, cwd: str):
        return subprocess.run([sys.executable, "-m", "brownout", "sandbox", action], env=brownout_env, cwd=cwd,
                              capture_output=True, text=True, timeout=90)

    first, second = (tmp_path / name for name in ("first", "second"))
    first.mkdir()
    second.mkdir()
    assert sandbox("status", str(first)).returncode == 1          # a fresh directory and a fresh home
    up = sandbox("up", str(first))
    assert up.returncode == 0 and "sandbox up: gateway http://127.0.0.1:" in up.stdout, up.stdout + up.stderr
    status = sandbox("status", str(second))
    assert status.returncode == 0, status.stdout + status.stderr
    assert json.loads(status.stdout)["gateway_url"] in up.stdout
    assert (tmp_path / "home" / "sandbox").is_dir() and not (first / ".brownout").exists()
    assert sandbox("down", str(second)).returncode == 0
    down_again = sandbox("down", str(first))
    assert down_again.returncode == 1 and "no sandbox running" in down_again.stdout


def test_workers_out_of_range_is_a_usage_error_before_anything_starts(brownout_env, tmp_path):
    for bad in ("0", "-2", "65", "two"):
        proc = run_brownout(["run", "experiments/quickstart.yaml", "--workers", bad, "--out", str(tmp_path / "out")],
                            brownout_env, timeout=60)
        assert proc.returncode == 2 and "argument --workers" in proc.stderr, (bad, proc.stderr)
    assert not (tmp_path / "out").exists() and not (tmp_path / "home").exists()
