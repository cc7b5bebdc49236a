"""The CI and Kubernetes recipes in deploy/: they parse, they run what exists, and the RBAC is least privilege.

The Role/ClusterRole rules must grant exactly the (API group, resource, verb)
triples that the client calls in brownout/faults/kubernetes/ need: a new call
without a rule (or a rule nothing uses) fails here.
"""

from __future__ import annotations

import re

import yaml

from brownout.experiments.loading import load_experiment
from tests.e2e.conftest import REPO

DEPLOY = REPO / "deploy"

# kubernetes-client method -> (API group, resource, verb) it needs
CALLS = {
    "list_namespaced_pod": ("", "pods", "list"),
    "list_pod_for_all_namespaces": ("", "pods", "list"),
    "delete_namespaced_pod": ("", "pods", "delete"),
    "create_namespaced_pod_eviction": ("", "pods/eviction", "create"),
    "list_node": ("", "nodes", "list"),
    "read_node": ("", "nodes", "get"),
    "patch_node": ("", "nodes", "patch"),
    "read_namespaced_deployment": ("apps", "deployments", "get"),
    "read_namespaced_stateful_set": ("apps", "statefulsets", "get"),
    "read_namespaced_deployment_scale": ("apps", "deployments/scale", "get"),
    "patch_namespaced_deployment_scale": ("apps", "deployments/scale", "patch"),
    "read_namespaced_stateful_set_scale": ("apps", "statefulsets/scale", "get"),
    "patch_namespaced_stateful_set_scale": ("apps", "statefulsets/scale", "patch"),
}
CLIENT_METHOD = re.compile(r"\b((?:list|read|patch|delete|create|replace|watch)_[a-z_]+)\b")


def client_calls() -> set[str]:
    """kubernetes-client method names used by the fault drivers (direct calls and the names they getattr)."""
    found = set()
    for path in (REPO / "brownout" / "faults" / "kubernetes").glob("*.py"):
        text = path.read_text()
        found |= set(re.findall(r"\.(?:core|apps)\.(\w+)\(", text))
        found |= {m for m in CLIENT_METHOD.findall(text) if re.search(rf'"{m}"', text)}
    return found


def documents(path):
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def test_every_recipe_parses():
    files = sorted(DEPLOY.rglob("*.y*ml"))
    assert {f.name for f in files} >= {"brownout.yml", "rbac.yaml", "cronjob.yaml", "game-day-experiment.yaml"}
    for path in files:
        assert documents(path), path


def test_rbac_grants_exactly_what_the_kubernetes_faults_call():
    calls = client_calls()
    assert {"delete_namespaced_pod", "patch_node", "patch_namespaced_deployment_scale"} <= calls
    unknown = calls - CALLS.keys()
    assert not unknown, f"client calls without a known RBAC need: {unknown} (add them to CALLS and rbac.yaml)"
    needed = {CALLS[c] for c in calls}

    granted = set()
    docs = documents(DEPLOY / "kubernetes" / "rbac.yaml")
    for doc in docs:
        if doc["kind"] in ("Role", "ClusterRole"):
            for rule in doc["rules"]:
                assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"], rule
                granted |= {(g, r, v) for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}
    assert granted == needed

    account = next(d for d in docs if d["kind"] == "ServiceAccount")["metadata"]
    for binding in (d for d in docs if d["kind"].endswith("Binding")):
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account["name"],
                                        "namespace": account["namespace"]}]
        assert any(d["kind"] == binding["roleRef"]["kind"] and d["metadata"]["name"] == binding["roleRef"]["name"]
                   for d in docs)


def test_cronjob_runs_once_with_the_service_account_and_keeps_reports_and_journal_on_the_volume():
    docs = documents(DEPLOY / "kubernetes" / "cronjob.yaml")
    cron = next(d for d in docs if d["kind"] == "CronJob")
    claim = next(d for d in docs if d["kind"] == "PersistentVolumeClaim")["metadata"]["name"]
    job = cron["spec"]["jobTemplate"]["spec"]
    pod = job["template"]["spec"]
    assert cron["spec"]["concurrencyPolicy"] == "Forbid" and job["backoffLimit"] == 0
    assert pod["serviceAccountName"] == "brownout" and pod["restartPolicy"] == "Never"
    container = pod["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["reports"]["persistentVolumeClaim"]["claimName"] == claim
    assert env["BROWNOUT_HOME"].startswith(mounts["reports"] + "/")
    script = container["args"][0]
    assert "brownout run /experiments/game-day.yaml" in script and "brownout report --index" in script


def test_the_experiments_the_recipes_run_are_valid():
    assert load_experiment(DEPLOY / "kubernetes" / "game-day-experiment.yaml", env={}).spec.faults[0].kind == \
        "kubernetes.pod-kill"
    workflow = (DEPLOY / "github" / "brownout.yml").read_text()
    for name in re.findall(r"brownout run (\S+\.yaml)", workflow):
        load_experiment(REPO / name, env={})
    jobs = documents(DEPLOY / "github" / "brownout.yml")[0]["jobs"]
    assert set(jobs) == {"ci-gate", "game-day"}
    uploads = [s for job in jobs.values() for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact")]
    assert len(uploads) == 2 and all(s.get("if") == "always()" for s in uploads)
