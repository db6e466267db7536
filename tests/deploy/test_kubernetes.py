"""deploy/k8s/ holds up: kubeconform (strict) accepts every Kubernetes object against the
Kubernetes schemas, Strimzi's and the Prometheus Operator's own models accept every custom
resource, kube-score finds nothing critical and nothing to warn about, and the KafkaTopics are
the topic catalog."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from deploy.checkers import DEPLOY, KUBERNETES_VERSION, missing_tool, run, tool, tools_dir

from parklink.eventkit.catalog import load_catalog

K8S = DEPLOY / "k8s"
MANIFESTS = sorted(K8S.glob("*.yaml"))
# Checked by CheckResources (the operators' models), not by kubeconform.
CUSTOM_KINDS = ("Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser", "ServiceMonitor")


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def kubeconform(*files: Path) -> tuple[int, str]:
    schemas = tools_dir() / "k8s-schemas"
    if not schemas.is_dir():
        missing_tool("the Kubernetes JSON schemas")
    result = run(
        tool("kubeconform"),
        "-strict",
        "-summary",
        "-kubernetes-version",
        KUBERNETES_VERSION,
        "-skip",
        ",".join(CUSTOM_KINDS),
        "-schema-location",
        str(
            schemas
            / "{{.NormalizedKubernetesVersion}}-strict/{{.ResourceKind}}{{.KindSuffix}}.json"
        ),
        *files,
    )
    return result.returncode, result.stdout + result.stderr


def check_custom_resources(*files: Path) -> tuple[int, str]:
    models = tools_dir() / "custom-resource-models"
    if not (models / "classes" / "CheckResources.class").is_file():
        missing_tool("the custom resource checker")
    classpath = f"{models / 'libs'}/*:{models / 'classes'}"
    # A short-lived JVM: no tiered compilation beyond C1, the serial collector.
    jvm = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto")
    result = run("java", *jvm, "-cp", classpath, "CheckResources", *files)
    return result.returncode, result.stdout


def test_kubeconform_accepts_every_kubernetes_object() -> None:
    code, out = kubeconform(*MANIFESTS)
    assert code == 0, out
    assert "Invalid: 0, Errors: 0" in out
    kinds = {d["kind"] for path in MANIFESTS for d in documents(path)}
    checked = len([k for k in kinds if k not in CUSTOM_KINDS])
    assert checked >= 6 and "Valid: 0," not in out, out


def test_kubeconform_rejects_an_unknown_field(tmp_path: Path) -> None:
    docs = documents(K8S / "parklink.yaml")
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["resource"] = {}  # a typo
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(deployment))
    code, out = kubeconform(bad)
    assert code != 0 and "resource" in out, out


def test_the_operators_models_accept_every_custom_resource() -> None:
    code, out = check_custom_resources(*MANIFESTS)
    assert code == 0, out
    assert "0 problems" in out
    expected = sum(1 for p in MANIFESTS for d in documents(p) if d["kind"] in CUSTOM_KINDS)
    assert f"{expected} custom resources checked" in out, out


def test_the_custom_resource_check_rejects_typos_and_bad_values(tmp_path: Path) -> None:
    docs = documents(K8S / "strimzi.yaml")
    topic = next(d for d in docs if d["kind"] == "KafkaTopic")
    topic["spec"]["partition"] = topic["spec"].pop("partitions")
    user = next(d for d in docs if d["kind"] == "KafkaUser" and d["metadata"]["name"] == "detector")
    user["spec"]["authorization"]["acls"][0]["resource"]["patternType"] = "prefixed"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump_all([topic, user]))
    code, out = check_custom_resources(bad)
    assert code != 0
    assert "unknown field(s) [partition]" in out, out
    assert "patternType" in out, out


def test_kube_score_finds_nothing_critical_or_to_warn_about() -> None:
    result = run(tool("kube-score"), "score", "--output-format", "ci", *MANIFESTS)
    findings = [
        line for line in result.stdout.splitlines() if line.startswith(("[CRITICAL]", "[WARNING]"))
    ]
    assert findings == [], "\n".join(findings)
    assert result.stdout.count("[OK]") > 50, result.stdout


def test_kube_score_does_flag_a_bare_deployment(tmp_path: Path) -> None:
    bare = tmp_path / "bare.yaml"
    bare.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "bare"},
                "spec": {
                    "selector": {"matchLabels": {"app": "bare"}},
                    "template": {
                        "metadata": {"labels": {"app": "bare"}},
                        "spec": {"containers": [{"name": "c", "image": "parklink:latest"}]},
                    },
                },
            }
        )
    )
    result = run(tool("kube-score"), "score", "--output-format", "ci", bare)
    assert result.returncode != 0
    assert "[CRITICAL]" in result.stdout


def test_kafka_topics_are_the_catalog() -> None:
    topics = {
        d["spec"].get("topicName", d["metadata"]["name"]): d["spec"]
        for d in documents(K8S / "strimzi.yaml")
        if d["kind"] == "KafkaTopic"
    }
    catalog = load_catalog()
    prefix = "alliance."
    for spec in catalog.topics.values():
        declared = topics.pop(spec.topic(prefix))
        assert declared["partitions"] == spec.partitions, spec.name
        assert declared["replicas"] == spec.replication_factor, spec.name
        wanted = {k: str(v) for k, v in spec.configs(spec.replication_factor).items()}
        assert {k: str(v) for k, v in declared["config"].items()} == wanted, spec.name
    assert set(topics) == {"_schemas"}  # the registry's store, besides the catalog


def test_pods_run_as_numeric_non_root_on_read_only_roots_with_pinned_images() -> None:
    pods = [
        d["spec"]["template"]["spec"]
        for d in documents(K8S / "parklink.yaml")
        if d["kind"] in {"Deployment", "Job", "StatefulSet"}
    ]
    assert pods
    for pod in pods:
        assert pod["securityContext"]["runAsNonRoot"] is True
        for c in pod["containers"]:
            sc = c["securityContext"]
            assert sc["runAsUser"] >= 10000 and sc["readOnlyRootFilesystem"] is True
            assert not c["image"].endswith(":latest") and ":" in c["image"]
            assert {"requests", "limits"} <= set(c["resources"])
    assert not any(
        v.get("persistentVolumeClaim") for pod in pods for v in pod.get("volumes", [])
    ), "no shared volume: the console and the tokens live in PostgreSQL"


def test_metrics_need_the_token_and_the_detector_port_admits_only_monitoring() -> None:
    docs = documents(K8S / "parklink.yaml")
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    assert set(deployments) == {
        f"parklink-{n}" for n in ("registry", "gateway", "detector", "console")
    }
    for name, deployment in deployments.items():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e for e in container["env"]}
        assert env["PARKLINK_METRICS_TOKEN"]["valueFrom"]["secretKeyRef"] == {
            "name": "parklink-metrics",
            "key": "token",
        }, name
        assert all(e.get("value") != "0.0.0.0" for e in container["env"] if "DETECTOR" in e["name"])
    (detector,) = deployments["parklink-detector"]["spec"]["template"]["spec"]["containers"]
    host = next(e for e in detector["env"] if e["name"] == "PARKLINK_DETECTOR_HOST")
    assert host["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"

    policy = next(
        d
        for d in docs
        if d["kind"] == "NetworkPolicy" and d["metadata"]["name"] == "parklink-detector"
    )
    (rule,) = policy["spec"]["ingress"]
    (source,) = rule["from"]
    assert source == {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}
    }
    assert rule["ports"] == [{"protocol": "TCP", "port": 6066}]

    (monitor,) = documents(K8S / "monitoring.yaml")
    for endpoint in monitor["spec"]["endpoints"]:
        assert endpoint["authorization"] == {
            "type": "Bearer",
            "credentials": {"name": "parklink-metrics", "key": "token"},
        }
