"""`brownout proxy serve`: Toxiproxy's contract, its config file at start, a clean stop that removes every toxic.

One server process for all of it (a start costs seconds on a busy machine). The full
contract suite passes against it too: `TOXIPROXY_URL=<its url> pytest tests/faults/test_toxiproxy_contract.py`.
"""

from __future__ import annotations

import json
import signal
import uuid
from pathlib import Path

import httpx
import pytest

from brownout.cli import main
from brownout.faults.network.client import ToxiproxyAPI
from brownout.processes import free_port
from tests.faults import test_toxiproxy_contract as contract
from tests.faults.network_support import connect, echo_rtt, proxy_serve, upstream_server


def test_serve_keeps_the_toxiproxy_contract_loads_its_config_and_stops_removing_every_toxic(tmp_path: Path):
    with upstream_server() as upstream:
        listen = f"127.0.0.1:{free_port()}"
        config = tmp_path / "proxies.json"
        config.write_text(json.dumps([{"name": "model-a", "listen": listen, "upstream": upstream, "enabled": True}]))
        with proxy_serve("--config", str(config)) as (process, url):
            with httpx.Client(base_url=url, timeout=5.0, trust_env=False) as http:
                contract.test_version(http)
                for check in (contract.test_proxy_lifecycle, contract.test_toxic_lifecycle, contract.test_populate_and_reset):
                    name = f"contract-{uuid.uuid4().hex[:8]}"
                    check(http, name)
                    http.delete(f"/proxies/{name}")
            with ToxiproxyAPI(url) as api:
                assert {n: (p.listen, p.upstream) for n, p in api.proxies().items()} == {"model-a": (listen, upstream)}
                assert echo_rtt(listen) < 5
                api.add_toxic("model-a", name="slow", type="latency", attributes={"latency": 50})
            process.send_signal(signal.SIGTERM)
            output, _ = process.communicate(timeout=15)
        assert process.returncode == 0, output
        assert "toxic model-a/slow removed" in output and "stopped: every toxic removed" in output
        with pytest.raises(ConnectionRefusedError):
            connect(listen, timeout=1).close()


@pytest.mark.parametrize(("text", "message"), [
    ('[{"name": "model-a", "listen": "127.0.0.1:0"}]', "missing required field: upstream at proxy 1"),
    ('{"model-a": {}}', "expected a list of proxies"),
    ('[{"name": ', "not JSON"),
])
def test_a_bad_config_is_refused_naming_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str], text, message):
    config = tmp_path / "proxies.json"
    config.write_text(text)
    assert main(["proxy", "serve", "--listen", f"127.0.0.1:{free_port()}", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {config}") and message in err, err
