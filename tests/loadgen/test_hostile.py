"""The load against a hostile server (tests/loadgen/hostile.py): every misbehaviour is bounded and classified.

Each run drives the real load subprocess; one run covers many modes (request k gets mode k % n).
"""

from __future__ import annotations

import dataclasses
import itertools
import json

import pytest

from brownout.http_options import MAX_REDIRECTS, HttpOptions
from brownout.loadgen.schedule import ConstantTimer
from tests.e2e.conftest import run_brownout
from tests.loadgen.hostile_server import hostile_server, make_certificate
from tests.loadgen.support import run_to_end

pytestmark = pytest.mark.timeout(90)

MODES = ["ok", "reset_mid", "stall_mid", "hang_done", "after_done", "usage_huge", "usage_zero", "redirect",
         "redirect_loop", "gzip", "deflate", "raw_deflate", "brotli", "huge"]


@pytest.fixture(scope="module")
def hostile():
    with hostile_server() as server:
        yield server




def _by_mode(df, modes):
    df = df.assign(mode=[modes[int(r.rsplit("-", 1)[-1]) % len(modes)] for r in df.request_id])
    return {mode: group for mode, group in df.groupby("mode")}


def test_every_misbehaviour_is_classified_and_keeps_its_marks(hostile, make_plan):
    load = {"arrival": {"kind": "constant", "rate": "14/s"}, "timeout": "1.5s", "drain": "3s"}
    headers = {"x-hostile-modes": ",".join(MODES), "x-hostile-mib": "2"}
    plan = make_plan(hostile.url, load, duration=2.0, lead=2.5, headers=headers)
    run, df = run_to_end(plan)
    assert len(df) == 2 * len(MODES) and df.t_send.notna().all()
    got = _by_mode(df, MODES)

    def only(mode, **expected):
        rows = got[mode]
        for column, value in expected.items():
            assert set(rows[column]) == {value}, (mode, column, rows[[column, "error", "anomaly"]].to_dict("records"))
        return rows

    only("ok", outcome="ok", output_tokens=5, token_source="usage")
    for mode in ("gzip", "deflate", "raw_deflate"):  # decoded as they arrive: five gaps' worth of timing, never malformed SSE
        rows = only(mode, outcome="ok", output_tokens=5, token_source="usage")
        assert all(len(itl) == 4 for itl in rows.itl)
        assert max(max(itl) for itl in rows.itl) >= 0.005  # events 10 ms apart arrive apart, not all at the end
    only("brotli", outcome="failed", error_class="unsupported_encoding", failed_at="before_first_token")
    only("huge", outcome="failed", error_class="oversized_event", failed_at="before_first_token")
    # a reset and a stall after three tokens keep the tokens, t_first and the gaps they had
    for mode, error_class in (("reset_mid", "connection_reset"), ("stall_mid", "timeout")):
        rows = only(mode, outcome="failed", failed_at="mid_stream", output_tokens=3, token_source="chunks")
        assert set(rows.error_class) <= {error_class, "stream_cut"} if mode == "reset_mid" else set(rows.error_class) == {"timeout"}
        assert rows.t_first.notna().all() and all(len(itl) == 2 for itl in rows.itl)
    stalls = got["stall_mid"]
    assert ((stalls.t_end - stalls.t_send) < 1.5 + 0.5).all()
    # a hang after [DONE] is not a stall: the answer is complete, the anomaly is on the record
    hung = only("hang_done", outcome="ok", output_tokens=5)
    assert hung.anomaly.str.contains(r"after \[DONE\]: the response did not end").all()
    assert ((hung.t_end - hung.t_send) < 1.0).all()
    late = only("after_done", outcome="ok", output_tokens=5)  # the two events after [DONE] are not output
    assert late.anomaly.str.contains(r"after \[DONE\]: \d+ more bytes").all()
    # usage that cannot be what was streamed is set aside for the stream's count, and said so
    for mode, claimed in (("usage_huge", "1000000"), ("usage_zero", "0")):
        rows = only(mode, outcome="ok", output_tokens=5, token_source="chunks")
        assert rows.usage_mismatch.str.contains(f"usage says {claimed} output tokens").all()
    assert df[~df.request_id.map(lambda r: MODES[int(r.rsplit('-', 1)[-1]) % len(MODES)]).isin(
        ["usage_huge", "usage_zero"])].usage_mismatch.isna().all()
    # redirects are not followed by default: named, with the location
    rows = only("redirect", outcome="failed", error_class="redirect", status=307)
    assert rows.error.str.contains(r"redirect to /v1/chat/completions\?hop=1").all()
    only("redirect_loop", outcome="failed", error_class="redirect")
    assert set(df[df.outcome == "failed"].failed_at) <= {"before_headers", "before_first_token", "mid_stream"}


def test_huge_events_never_outlive_the_timeout(hostile, make_plan):
    """10 MiB events dribbled over 1, 2 or 4 s with a 3 s timeout: the 4 s ones time out, none counts ok past 3 s."""
    load = {"arrival": {"kind": "constant", "rate": "3/s"}, "timeout": "3s", "drain": "4s", "max_event_size": "16MiB"}
    headers = {"x-hostile-modes": "huge", "x-hostile-mib": "10", "x-hostile-seconds": "1,2,4"}
    plan = make_plan(hostile.url, load, duration=2.0, lead=2.5, headers=headers)
    expected = list(itertools.takewhile(lambda t: t < plan.end_at, ConstantTimer(3.0).times(plan.start_at)))
    run, df = run_to_end(plan)
    assert len(df) == len(expected) == 6  # every arrival has its record
    truth = hostile.truth()
    e2e = df.t_end - df.t_send
    assert set(df.outcome) <= {"ok", "failed"} and set(df[df.outcome == "failed"].error_class) == {"timeout"}
    assert (e2e[df.outcome == "ok"] <= 3.0).all(), e2e.describe()
    assert (e2e[df.outcome == "failed"] < 3.5).all(), e2e.describe()      # the timeout fires on time
    assert (e2e[df.outcome == "failed"] >= 3.0 - 0.05).all()              # and never early
    served = {rid: row["end"] - row["start"] for rid, row in truth.items()}
    slow = df[[served.get(r, 99) >= 3.5 or int(r.rsplit("-", 1)[-1]) % 3 == 2 for r in df.request_id]]
    assert set(slow.outcome) == {"failed"}, slow[["request_id", "outcome", "error"]]
    oks = df[df.outcome == "ok"]
    assert len(oks) >= 1 and (oks.output_tokens == 1).all()


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    cert, key = make_certificate(tmp_path_factory.mktemp("tls"))
    with hostile_server((cert, key)) as server:
        server.cert = cert
        yield server


@pytest.mark.parametrize("trust", ["system", "bundle"])
def test_load_verifies_tls_like_the_probes(tls_server, make_plan, trust):
    """verify_tls (the default) applies to load traffic, and ca_bundle trusts a private CA. With the bundle,
    follow_redirects follows a redirect and gives up on a loop after MAX_REDIRECTS."""
    modes = ["ok", "redirect", "redirect_loop"]
    load = {"arrival": {"kind": "constant", "rate": "6/s"}, "timeout": "3s", "drain": "2s"}
    plan = make_plan(tls_server.url, load, duration=1.0, lead=2.5, headers={"x-hostile-modes": ",".join(modes)})
    options = HttpOptions() if trust == "system" else HttpOptions(ca_bundle=str(tls_server.cert), follow_redirects=True)
    run, df = run_to_end(dataclasses.replace(plan, http=options))
    assert len(df) == 6
    if trust == "system":
        assert set(df.error_class) == {"tls_certificate"} and set(df.failed_at) == {"before_headers"}
        return
    got = _by_mode(df, modes)
    assert set(got["ok"].outcome) == {"ok"} and set(got["redirect"].outcome) == {"ok"}
    loop = got["redirect_loop"]
    assert set(loop.error_class) == {"redirect"}
    assert loop.error.str.contains(f"more than {MAX_REDIRECTS} redirects").all()


def test_a_rag_api_of_another_shape_through_the_request_template(hostile, make_plan):
    """load.http: the path, a body template with {{prompt}}, and where the answer is (load.request: rag)."""
    http = {"path": "/api/ask", "body": {"query": "Q: {{prompt}}", "options": {"top_k": 3, "model": "{{model}}"}},
            "answer": "data.text"}
    load = {"request": "rag", "arrival": {"kind": "constant", "rate": "5/s"}, "http": http,
            "dataset": {"kind": "synthetic", "input_tokens": {"mean": 4}}}
    plan = make_plan(hostile.url, load, duration=0.6, lead=2.5)
    run, df = run_to_end(plan)
    assert len(df) == 3 and set(df.outcome) == {"ok"}, df[["outcome", "error"]]
    truth = hostile.truth()
    bodies = [truth["ask " + rid]["body"] for rid in df.request_id]
    assert all(b["query"].startswith("Q: ") and len(b["query"]) > 3 for b in bodies)
    assert all(b["options"] == {"top_k": 3, "model": "fake-model"} for b in bodies)


def test_a_run_trusts_its_ca_bundle_in_load_probes_and_health_check(tls_server, brownout_env, tmp_path):
    """One short `brownout run` against the HTTPS server: `ca_bundle` (relative to the file) is what the health
    check, the probe and the load verify against; with the system CAs alone the health check would refuse it."""
    (tmp_path / "ca.pem").write_bytes(tls_server.cert.read_bytes())
    doc = {
        "apiVersion": "brownout/v1", "kind": "Experiment", "metadata": {"name": "tls"},
        "target": {"model": "fake-model", "endpoint": {"base_url": tls_server.url, "ca_bundle": "ca.pem"}},
        "load": {"arrival": {"kind": "constant", "rate": "6/s"}, "timeout": "3s", "drain": "1s"},
        "probes": [{"name": "health", "kind": "http", "path": "/health", "interval": "0.5s"}],
        "phases": {"warmup": "0s", "baseline": "0.5s", "fault": "0.5s", "recovery": "0.5s"},
    }
    path = tmp_path / "tls.yaml"
    path.write_text(json.dumps(doc))
    out = tmp_path / "out"
    proc = run_brownout(["run", str(path), "--out", str(out), "--quiet"], brownout_env, timeout=120)
    assert proc.returncode in (0, 6), proc.stdout + proc.stderr
    results = json.loads((out / "results.json").read_text())
    run = results["phases"]["run"]
    assert run["requests"] >= 4 and run["ok"] == run["requests"] and run["errors_by_class"] == {}
    probes = [json.loads(line) for line in (out / "probes.jsonl").read_text().splitlines()]
    assert probes and all(p["ok"] for p in probes), probes
