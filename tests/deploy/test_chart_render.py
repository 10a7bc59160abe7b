"""Specifications of the chart as Helm renders it (`helm lint`, `helm template`, offline) and
of the manifests against the Kubernetes API schemas (kubernetes-validate)."""

from __future__ import annotations

import base64
import copy
import functools
import re
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import helm_python
import kubernetes_validate
import pytest
import yaml

from monitor.config.loader import load_config
from tests.deploy.chart import (
    CHART_DIR,
    ROOT,
    Rendered,
    container,
    example_values,
    mounts,
    pod_template,
    render,
    resolve_env,
)
from tests.deploy.dockerfile import Dockerfile

OLDEST_KUBERNETES = "1.29.0"  # Chart.yaml kubeVersion
CUSTOM_KINDS = {"ServiceMonitor", "PrometheusRule"}  # Prometheus Operator CRDs: test_prometheus
DNS_1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _with(base: str, **overrides: Any) -> dict[str, Any]:
    values = example_values(base)
    values.update(overrides)
    return values


# Value sets that between them switch every template and branch on.
VALUE_SETS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "multi-region": example_values("multi-region"),
    "cronjob": example_values("cronjob"),
    "cronjob-bundled-postgres": _with(
        "cronjob",
        database={"type": "bundled"},
        regions=[{"name": "eu-west-1", "schedule": "*/15 * * * *"}, {"name": "us-east-1"}],
    ),
    "sqlite-persistent-everything-on": {
        "persistence": {"enabled": True},
        "secret": {"create": True, "data": {"SLACK_WEBHOOK_URL": "https://hooks.invalid/x"}},
        "datadog": {"nodeAgent": True},
        "extraEnv": [{"name": "EXTRA", "value": "1"}],
        "extraVolumes": [{"name": "ca", "configMap": {"name": "corp-ca"}}],
        "extraVolumeMounts": [{"name": "ca", "mountPath": "/etc/corp-ca", "readOnly": True}],
        "ingress": {"enabled": True},
        "serviceMonitor": {"enabled": True},
        "prometheusRule": {"enabled": True},
        "regions": [{"name": "eu-west-1", "nodeRegion": "europe-west1"}],
        "regionAffinity": {"type": "preferred"},
        "podAnnotations": {"team": "sre"},
        "image": {"digest": "sha256:" + "a" * 64},
    },
    "sharded-autoscaled": _with(
        "multi-region", autoscaling={"enabled": True, "minReplicas": 2, "maxReplicas": 5}
    ),
    "existing-config-and-secret-features-off": {
        "existingConfigMap": "corp-smokewatch-config",
        "secret": {"existingSecret": "corp-smokewatch-env"},
        "serviceAccount": {"create": False, "name": "corp-monitoring"},
        "podDisruptionBudget": {"enabled": False},
        "topologySpread": {"enabled": False},
        "grafanaDashboard": {"enabled": False},
    },
}
IDS = sorted(VALUE_SETS)
CHART_CONFIG_IDS = [name for name in IDS if "existingConfigMap" not in VALUE_SETS[name]]


@pytest.fixture(scope="module")
def rendered(chart: helm_python.Chart) -> Callable[[str], Rendered]:
    cache: dict[str, Rendered] = {}

    def get(name: str) -> Rendered:
        if name not in cache:
            cache[name] = render(chart, VALUE_SETS[name])
        return cache[name]

    return get


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


class TestHelmLint:
    @pytest.mark.parametrize("name", IDS, ids=str)
    def test_lint_strict_is_clean(self, name: str) -> None:
        """`helm lint --strict` reports no error and no warning (an INFO is allowed)."""
        report = helm_python.lint(CHART_DIR, VALUE_SETS[name], strict=True)
        assert report["errors"] == []
        assert [m for m in report["messages"] if m["severity"] >= 2] == []


@pytest.fixture(scope="module")
def _schema_files_cached() -> Iterator[None]:
    # kubernetes-validate re-reads and re-parses the same schema files for every object (60 %
    # of its time); caching that pure file read halves these tests' run time.
    with pytest.MonkeyPatch.context() as patch:
        cached = functools.lru_cache(maxsize=None)(kubernetes_validate.utils.schema_contents)
        patch.setattr(kubernetes_validate.utils, "schema_contents", cached)
        yield


@pytest.mark.usefixtures("_schema_files_cached")
class TestKubernetesSchemas:
    @pytest.mark.parametrize("version", [OLDEST_KUBERNETES, kubernetes_validate.latest_version()])
    @pytest.mark.parametrize("name", IDS, ids=str)
    def test_every_object_validates_strictly(
        self, rendered: Callable[[str], Rendered], name: str, version: str
    ) -> None:
        """Every built-in object validates (strict: no unknown field) against the API schema."""
        for doc in rendered(name).docs:
            if doc["kind"] in CUSTOM_KINDS:
                continue
            kubernetes_validate.validate(doc, version, strict=True)

    def test_only_prometheus_operator_kinds_lack_a_schema(
        self, rendered: Callable[[str], Rendered]
    ) -> None:
        """The objects without a Kubernetes schema are exactly the two Prometheus Operator CRDs."""
        docs = rendered("sqlite-persistent-everything-on").docs
        missing = set()
        for doc in docs:
            try:
                kubernetes_validate.validate(doc, OLDEST_KUBERNETES, strict=True)
            except kubernetes_validate.SchemaNotFoundError:
                missing.add(doc["kind"])
        assert missing == CUSTOM_KINDS


class TestSkeleton:
    @pytest.mark.parametrize("name", IDS, ids=str)
    def test_names_are_valid_and_unique(
        self, rendered: Callable[[str], Rendered], name: str
    ) -> None:
        """Names are DNS-1123 labels, at most 52 characters for CronJobs, unique per kind."""
        seen: set[tuple[str, str]] = set()
        for doc in rendered(name).docs:
            meta = doc["metadata"]
            limit = 52 if doc["kind"] == "CronJob" else 63
            assert DNS_1123.match(meta["name"]), meta["name"]
            assert len(meta["name"]) <= limit, meta["name"]
            assert (doc["kind"], meta["name"]) not in seen
            seen.add((doc["kind"], meta["name"]))

    @pytest.mark.parametrize("name", IDS, ids=str)
    def test_workload_selectors_match_their_pods(
        self, rendered: Callable[[str], Rendered], name: str
    ) -> None:
        """Each Deployment/StatefulSet selects its own pod template and no other workload's."""
        out = rendered(name)
        for workload in out.workloads:
            if workload["kind"] == "CronJob":
                continue
            selector = workload["spec"]["selector"]["matchLabels"]
            for other in out.workloads:
                labels = pod_template(other)["metadata"]["labels"]
                assert _selects(selector, labels) is (other is workload)

    @pytest.mark.parametrize("name", IDS, ids=str)
    def test_service_and_budgets_select_the_serving_pods(
        self, rendered: Callable[[str], Rendered], name: str
    ) -> None:
        """The Service selects exactly the pods that listen on http; each PDB one workload."""
        out = rendered(name)
        serving = {
            w["metadata"]["name"]
            for w in out.workloads
            if any(
                port["name"] == "http"
                for ctr in pod_template(w)["spec"]["containers"]
                for port in ctr.get("ports", [])
            )
        }
        (service,) = [s for s in out.of_kind("Service") if s["spec"]["ports"][0]["name"] == "http"]
        selected = {
            w["metadata"]["name"]
            for w in out.workloads
            if _selects(service["spec"]["selector"], pod_template(w)["metadata"]["labels"])
        }
        assert serving
        assert selected == serving
        for pdb in out.of_kind("PodDisruptionBudget"):
            matched = [
                w
                for w in out.workloads
                if _selects(
                    pdb["spec"]["selector"]["matchLabels"], pod_template(w)["metadata"]["labels"]
                )
            ]
            assert len(matched) == 1
            assert matched[0]["kind"] == "Deployment"

    @pytest.mark.parametrize("name", IDS, ids=str)
    def test_pods_reference_what_exists(
        self, rendered: Callable[[str], Rendered], name: str
    ) -> None:
        """Mounts name volumes of the pod; ConfigMaps/Secrets are rendered or user-supplied."""
        out = rendered(name)
        values = VALUE_SETS[name]
        configmaps = {c["metadata"]["name"] for c in out.of_kind("ConfigMap")}
        secrets = {s["metadata"]["name"] for s in out.of_kind("Secret")}
        supplied = {
            values.get("secret", {}).get("existingSecret"),
            values.get("database", {}).get("external", {}).get("existingSecret"),
        } - {None, ""}
        configmaps |= {values.get("existingConfigMap")} - {None}
        for workload in out.workloads:
            spec = pod_template(workload)["spec"]
            names = {v["name"] for v in spec["volumes"]}
            # A StatefulSet's volumeClaimTemplates provide volumes too.
            names |= {
                t["metadata"]["name"] for t in workload["spec"].get("volumeClaimTemplates", [])
            }
            for ctr in spec["containers"]:
                assert {m["name"] for m in ctr.get("volumeMounts", [])} <= names
                for var in ctr.get("env", []):
                    ref = var.get("valueFrom", {}).get("secretKeyRef")
                    if ref:
                        assert ref["name"] in secrets | supplied
                for source in ctr.get("envFrom", []):
                    assert source["secretRef"]["name"] in secrets | supplied
            for volume in spec["volumes"]:
                if "configMap" in volume and volume["name"] == "config":
                    assert volume["configMap"]["name"] in configmaps
                if "secret" in volume:
                    assert volume["secret"]["secretName"] in secrets | supplied

    @pytest.mark.parametrize("name", IDS, ids=str)
    def test_smokewatch_containers_are_locked_down(
        self, rendered: Callable[[str], Rendered], name: str
    ) -> None:
        """Read-only root, non-root, no privilege escalation, all capabilities dropped, no token."""
        for workload in rendered(name).workloads:
            if workload["spec"].get("serviceName"):
                continue  # the bundled PostgreSQL: checked by the schema only
            pod = pod_template(workload)["spec"]
            ctx = container(workload)["securityContext"]
            assert ctx["readOnlyRootFilesystem"] is True
            assert ctx["runAsNonRoot"] is True
            assert ctx["allowPrivilegeEscalation"] is False
            assert ctx["capabilities"]["drop"] == ["ALL"]
            assert pod["automountServiceAccountToken"] is False


class TestModes:
    def test_deployment_per_region(self, rendered: Callable[[str], Rendered]) -> None:
        """Long-running mode: one `serve` Deployment per region, pinned to the region's nodes."""
        out = rendered("multi-region")
        regions = {r["name"] for r in example_values("multi-region")["regions"]}
        by_region = {
            next(e["value"] for e in container(d)["env"] if e["name"] == "SMOKEWATCH_REGION"): d
            for d in out.of_kind("Deployment")
        }
        assert set(by_region) == regions
        assert out.of_kind("CronJob") == []
        for region, deployment in by_region.items():
            args = container(deployment)["args"]
            assert args[0] == "serve"
            assert "--no-scheduler" not in args
            assert deployment["spec"]["replicas"] == 2
            assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
            affinity = pod_template(deployment)["spec"]["affinity"]["nodeAffinity"]
            terms = affinity["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
            assert terms == [
                {
                    "matchExpressions": [
                        {
                            "key": "topology.kubernetes.io/region",
                            "operator": "In",
                            "values": [region],
                        }
                    ]
                }
            ]

    def test_sqlite_deployment_recreates(self, rendered: Callable[[str], Rendered]) -> None:
        """With SQLite the old pod lets go of the file before the new one starts."""
        (deployment,) = rendered("defaults").of_kind("Deployment")
        assert deployment["spec"]["strategy"] == {"type": "Recreate"}
        assert deployment["spec"]["replicas"] == 1

    def test_cronjob_per_region_and_an_api_deployment(
        self, rendered: Callable[[str], Rendered]
    ) -> None:
        """CronJob mode: `run --once` per region on its schedule, plus `serve --no-scheduler`."""
        out = rendered("cronjob-bundled-postgres")
        cronjobs = {c["metadata"]["name"]: c for c in out.of_kind("CronJob")}
        assert sorted(cronjobs) == ["sw-smokewatch-eu-west-1", "sw-smokewatch-us-east-1"]
        eu, us = cronjobs["sw-smokewatch-eu-west-1"], cronjobs["sw-smokewatch-us-east-1"]
        assert (eu["spec"]["schedule"], us["spec"]["schedule"]) == ("*/15 * * * *", "*/30 * * * *")
        for cronjob in cronjobs.values():
            spec = cronjob["spec"]
            assert spec["concurrencyPolicy"] == "Forbid"
            assert spec["startingDeadlineSeconds"] > 0
            assert spec["successfulJobsHistoryLimit"] >= 1
            assert spec["failedJobsHistoryLimit"] >= 1
            job = spec["jobTemplate"]["spec"]
            assert job["activeDeadlineSeconds"] > 0
            assert pod_template(cronjob)["spec"]["restartPolicy"] == "Never"
            assert container(cronjob)["args"][:2] == ["run", "--once"]
            assert "ports" not in container(cronjob)
            assert "livenessProbe" not in container(cronjob)
        (api,) = [
            d for d in out.of_kind("Deployment") if d["metadata"]["name"] == "sw-smokewatch-api"
        ]
        assert container(api)["args"][:2] == ["serve", "--no-scheduler"]

    def test_config_map_holds_both_files(self, rendered: Callable[[str], Rendered]) -> None:
        """smokewatch.yaml gets `regions` from the region list; alert-rules.yaml sits beside it."""
        config_map = rendered("multi-region").one("ConfigMap", "sw-smokewatch-config")
        config = yaml.safe_load(config_map["data"]["smokewatch.yaml"])
        rules = yaml.safe_load(config_map["data"]["alert-rules.yaml"])
        assert config["regions"] == ["us-east-1", "us-west-2", "eu-west-1"]
        assert config["alert_rules"] == "alert-rules.yaml"
        assert config["logging"]["format"] == "json"
        assert rules["alerts"][0]["name"] == "smoke_test_failure"
        # smokewatch's own {{ capture }} syntax passes through Helm untouched.
        assert "Bearer {{ token }}" in config_map["data"]["smokewatch.yaml"]

    def test_config_change_rolls_the_pods(self, chart: helm_python.Chart) -> None:
        """The pod's checksum/config changes with the config and only with it."""

        def checksum(values: dict[str, Any]) -> str:
            (deployment,) = render(chart, values).of_kind("Deployment")
            return str(pod_template(deployment)["metadata"]["annotations"]["checksum/config"])

        base = {"config": {"defaults": {"interval": "30m"}}}
        changed = copy.deepcopy(base)
        changed["config"]["defaults"]["interval"] = "5m"
        assert checksum(base) == checksum(copy.deepcopy(base))
        assert checksum(base) != checksum(changed)
        assert checksum(base) == checksum({**base, "service": {"port": 9090}})

    def test_created_secret_becomes_env_and_files(
        self, rendered: Callable[[str], Rendered]
    ) -> None:
        """A chart-made Secret becomes environment and files under /run/secrets/smokewatch."""
        out = rendered("sqlite-persistent-everything-on")
        secret = out.one("Secret")
        (deployment,) = out.of_kind("Deployment")
        env = resolve_env(container(deployment), {secret["metadata"]["name"]: secret["stringData"]})
        assert env["SLACK_WEBHOOK_URL"] == "https://hooks.invalid/x"
        assert (
            mounts(deployment)["/run/secrets/smokewatch"]["secret"]["secretName"]
            == (secret["metadata"]["name"])
        )
        assert "checksum/secret" in pod_template(deployment)["metadata"]["annotations"]

    def test_bundled_postgres_url_is_built_from_its_secret(
        self, rendered: Callable[[str], Rendered]
    ) -> None:
        """SMOKEWATCH_DATABASE_URL names the bundled service, with the generated password."""
        out = rendered("cronjob-bundled-postgres")
        secret = out.one("Secret", "sw-smokewatch-postgresql")
        password = base64.b64decode(secret["data"]["password"]).decode()
        env = resolve_env(
            container(out.one("CronJob", "sw-smokewatch-eu-west-1")),
            {"sw-smokewatch-postgresql": {"password": password}, "smokewatch-env": {}},
        )
        assert env["SMOKEWATCH_DATABASE_URL"] == (
            f"postgresql://smokewatch:{password}@sw-smokewatch-postgresql:5432/smokewatch"
        )
        assert len(password) == 32
        assert password.isalnum()
        assert out.one("Service", "sw-smokewatch-postgresql")["spec"]["ports"][0]["port"] == 5432

    def test_external_database_url_comes_from_the_users_secret(
        self, rendered: Callable[[str], Rendered]
    ) -> None:
        """With an external PostgreSQL the URL is a secretKeyRef, never a value."""
        (deployment, *_) = rendered("multi-region").of_kind("Deployment")
        (url,) = [e for e in container(deployment)["env"] if e["name"] == "SMOKEWATCH_DATABASE_URL"]
        assert url == {
            "name": "SMOKEWATCH_DATABASE_URL",
            "valueFrom": {"secretKeyRef": {"name": "smokewatch-db", "key": "database-url"}},
        }

    @pytest.mark.parametrize(
        ("overrides", "reason"),
        [
            ({"mode": "cronjob"}, "mode cronjob needs a shared store"),
            ({"regions": [{"name": "a"}, {"name": "b"}]}, "several regions share results"),
            ({"regions": [{"name": "a", "replicas": 2}]}, "more than one replica needs PostgreSQL"),
            ({"deployment": {"replicas": 3}}, "more than one replica needs PostgreSQL"),
            ({"database": {"type": "external"}}, "needs database.external.existingSecret"),
            (
                {"database": {"type": "bundled"}, "regions": [{"name": "a"}, {"name": "a"}]},
                '"a" is listed twice',
            ),
            ({"secret": {"create": True, "existingSecret": "x"}}, "not both"),
        ],
        ids=[
            "cronjob-on-sqlite",
            "regions-on-sqlite",
            "region-replicas-on-sqlite",
            "replicas-on-sqlite",
            "external-without-secret",
            "duplicate-region",
            "two-secret-sources",
        ],
    )
    def test_impossible_combinations_are_refused(
        self, chart: helm_python.Chart, overrides: dict[str, Any], reason: str
    ) -> None:
        """Values that cannot work fail at install time, saying why."""
        with pytest.raises(helm_python.HelmError, match=re.escape(reason)):
            render(chart, overrides)

    @pytest.mark.parametrize(
        ("name", "expected"),
        [
            ("defaults", "port-forward service/sw-smokewatch 8080:8080"),
            ("multi-region", "https://status.example.internal/"),
            ("cronjob", "create job --from=cronjob/sw-smokewatch-eu-west-1"),
        ],
        ids=["port-forward", "ingress", "cronjob"],
    )
    def test_notes_say_how_to_reach_it(
        self, rendered: Callable[[str], Rendered], name: str, expected: str
    ) -> None:
        """NOTES.txt tells how to reach the status page (or run a region now)."""
        assert expected in rendered(name).notes


class TestSharing:
    def test_postgres_replicas_share_their_region(
        self, rendered: Callable[[str], Rendered]
    ) -> None:
        """With PostgreSQL the rendered config turns scheduler.shard on; with SQLite it is off."""
        shared = yaml.safe_load(
            rendered("multi-region").one("ConfigMap", "sw-smokewatch-config")["data"][
                "smokewatch.yaml"
            ]
        )
        alone = yaml.safe_load(
            rendered("defaults").one("ConfigMap", "sw-smokewatch-config")["data"]["smokewatch.yaml"]
        )
        assert shared["scheduler"]["shard"] is True
        assert "shard" not in alone.get("scheduler", {})

    def test_autoscaler_per_region_owns_the_replica_count(
        self, rendered: Callable[[str], Rendered]
    ) -> None:
        """autoscaling: one HPA per region aims at its Deployment, which then sets no replicas;
        each region keeps its PodDisruptionBudget."""
        out = rendered("sharded-autoscaled")
        deployments = {d["metadata"]["name"]: d for d in out.of_kind("Deployment")}
        hpas = out.of_kind("HorizontalPodAutoscaler")
        assert {h["spec"]["scaleTargetRef"]["name"] for h in hpas} == set(deployments)
        for hpa in hpas:
            assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 5)
        assert all("replicas" not in d["spec"] for d in deployments.values())
        pdbs = {p["metadata"]["name"] for p in out.of_kind("PodDisruptionBudget")}
        assert pdbs == set(deployments)

    def test_no_autoscaler_by_default(self, rendered: Callable[[str], Rendered]) -> None:
        """The HPA template is off unless asked for."""
        assert rendered("multi-region").of_kind("HorizontalPodAutoscaler") == []

    @pytest.mark.parametrize(
        "overrides",
        [
            {"autoscaling": {"enabled": True}},
            {
                "autoscaling": {"enabled": True},
                "database": {"type": "bundled"},
                "deployment": {"shard": False},
            },
        ],
        ids=["sqlite", "standbys"],
    )
    def test_autoscaling_needs_sharing_replicas(
        self, chart: helm_python.Chart, overrides: dict[str, Any]
    ) -> None:
        """Autoscaling replicas that would only stand by (or share one SQLite file) is refused."""
        with pytest.raises(helm_python.HelmError, match="autoscaling needs mode deployment"):
            render(chart, overrides)


class TestRenderedConfig:
    @pytest.mark.parametrize("name", CHART_CONFIG_IDS, ids=str)
    def test_smokewatch_accepts_the_rendered_files(
        self, rendered: Callable[[str], Rendered], name: str, tmp_path: Path
    ) -> None:
        """The ConfigMap's smokewatch.yaml and alert-rules.yaml pass smokewatch's own loader."""
        config_map = rendered(name).one("ConfigMap", "sw-smokewatch-config")
        for filename, text in config_map["data"].items():
            (tmp_path / filename).write_text(text)
        names = ("SMOKEWATCH_API_TOKEN", "SMOKE_TEST_PASSWORD")
        env = {**dict.fromkeys(names, "stand-in"), "SLACK_WEBHOOK_URL": "https://hooks.invalid/x"}
        loaded = load_config(tmp_path / "smokewatch.yaml", env=env)
        regions = VALUE_SETS[name].get("regions", [{"name": "local"}])
        assert list(loaded.config.regions) == [r["name"] for r in regions]
        assert loaded.rules_path == tmp_path / "alert-rules.yaml"
        assert loaded.config.logging.format == "json"


@pytest.fixture(scope="module")
def deployment(chart: helm_python.Chart) -> dict[str, Any]:
    """The default render's one Deployment."""
    (deployment,) = render(chart).of_kind("Deployment")
    return deployment


class TestAgreesWithTheDockerfile:
    """The chart runs the image as the Dockerfile built it (no engine here to try them together)."""

    def test_the_image_entrypoint_runs_with_the_image_cmd(
        self, deployment: dict[str, Any], dockerfile: Dockerfile
    ) -> None:
        """No `command` override (tini stays PID 1) and `serve` args equal the image's CMD."""
        ctr = container(deployment)
        assert "command" not in ctr
        assert ctr["args"] == dockerfile.final.last("CMD").exec_form

    def test_user_and_port(self, deployment: dict[str, Any], dockerfile: Dockerfile) -> None:
        """The pod runs as the image's USER and probes the image's EXPOSEd port."""
        uid, gid = (int(x) for x in dockerfile.final.last("USER").args.split(":"))
        ctx = container(deployment)["securityContext"]
        assert (ctx["runAsUser"], ctx["runAsGroup"]) == (uid, gid)
        assert pod_template(deployment)["spec"]["securityContext"]["fsGroup"] == gid
        (port,) = container(deployment)["ports"]
        assert str(port["containerPort"]) == dockerfile.final.last("EXPOSE").args

    def test_probes_ask_health_and_ready(self, deployment: dict[str, Any]) -> None:
        """Liveness and startup ask /health (no I/O); readiness asks /ready."""
        ctr = container(deployment)
        assert ctr["livenessProbe"]["httpGet"]["path"] == "/health"
        assert ctr["startupProbe"]["httpGet"]["path"] == "/health"
        assert ctr["readinessProbe"]["httpGet"]["path"] == "/ready"

    def test_config_is_mounted_where_the_image_looks(
        self, deployment: dict[str, Any], dockerfile: Dockerfile
    ) -> None:
        """SMOKEWATCH_CONFIG is the image's, and its directory is the config ConfigMap."""
        image_config = dockerfile.final.env({"PATH": ""})["SMOKEWATCH_CONFIG"]
        env = {e["name"]: e.get("value") for e in container(deployment)["env"]}
        assert env["SMOKEWATCH_CONFIG"] == image_config
        volume = mounts(deployment)[str(PurePosixPath(image_config).parent)]
        assert volume["configMap"]["name"] == "sw-smokewatch-config"

    def test_every_place_smokewatch_writes_is_a_volume(
        self, deployment: dict[str, Any], dockerfile: Dockerfile
    ) -> None:
        """With a read-only root, WORKDIR, HOME, /tmp and /dev/shm are writable volumes."""
        image_env = dockerfile.final.env({"PATH": ""})
        writable = {path for path, volume in mounts(deployment).items() if "emptyDir" in volume} | {
            p for p, v in mounts(deployment).items() if "persistentVolumeClaim" in v
        }
        assert {dockerfile.final.workdir(), image_env["HOME"], "/tmp", "/dev/shm"} <= writable
        assert mounts(deployment)["/dev/shm"]["emptyDir"]["medium"] == "Memory"

    def test_versions_agree(self, dockerfile: Dockerfile) -> None:
        """Chart appVersion, pyproject's version and the image's version label are one."""
        chart_yaml = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())
        project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
        label = dockerfile.final.labels()["org.opencontainers.image.version"]
        assert chart_yaml["appVersion"] == project["version"] == label
