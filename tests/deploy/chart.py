"""The Helm chart, rendered by Helm itself: helm-python-sdk binds Helm v4's Go SDK
(``libhelm_c``), so ``render`` is ``helm template`` and ``lint`` is ``helm lint``, offline.

Also what the tests need to read rendered manifests: documents by kind, a workload's pod
spec, and a container's environment resolved the way the kubelet resolves it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import helm_python
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = ROOT / "helm" / "smokewatch"
EXAMPLES = {
    "defaults": None,
    "multi-region": CHART_DIR / "examples" / "multi-region.yaml",
    "cronjob": CHART_DIR / "examples" / "cronjob.yaml",
}
RELEASE, NAMESPACE = "sw", "monitoring"
_DEPENDENT_VAR = re.compile(r"\$\$|\$\((\w+)\)")


def example_values(name: str) -> dict[str, Any]:
    path = EXAMPLES[name]
    return {} if path is None else dict(yaml.safe_load(path.read_text()))


@dataclass
class Rendered:
    """One `helm template`: manifests by template path, parsed once."""

    templates: dict[str, str]

    @cached_property
    def docs(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for path, text in sorted(self.templates.items()):
            if path.endswith("NOTES.txt"):
                continue
            out.extend(doc for doc in yaml.safe_load_all(text) if doc)
        return out

    @property
    def notes(self) -> str:
        return next((t for p, t in self.templates.items() if p.endswith("NOTES.txt")), "")

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [d for d in self.docs if d["kind"] == kind]

    def one(self, kind: str, name: str | None = None) -> dict[str, Any]:
        found = [d for d in self.of_kind(kind) if name is None or d["metadata"]["name"] == name]
        assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
        return found[0]

    @property
    def workloads(self) -> list[dict[str, Any]]:
        return [d for d in self.docs if d["kind"] in ("Deployment", "CronJob", "StatefulSet")]


def render(chart: helm_python.Chart, values: Mapping[str, Any] | None = None) -> Rendered:
    """`helm template` (install) of the chart with ``values`` over values.yaml."""
    templates = chart.render(dict(values or {}), name=RELEASE, namespace=NAMESPACE, is_install=True)
    return Rendered(templates)


def pod_template(workload: Mapping[str, Any]) -> dict[str, Any]:
    """A Deployment's, StatefulSet's or CronJob's pod template (metadata + spec)."""
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return dict(spec["template"])


def container(workload: Mapping[str, Any], name: str = "smokewatch") -> dict[str, Any]:
    containers = pod_template(workload)["spec"]["containers"]
    return next(c for c in containers if c["name"] == name)


def resolve_env(ctr: Mapping[str, Any], secrets: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """The container's environment as the kubelet builds it.

    ``envFrom`` secrets first, then ``env`` in order; ``$(VAR)`` in a value expands to an
    earlier variable (``$$`` is a literal ``$``); ``secretKeyRef`` reads ``secrets``;
    ``fieldRef`` gets a stand-in value.
    """
    env: dict[str, str] = {}
    for source in ctr.get("envFrom", []):
        env.update(secrets[source["secretRef"]["name"]])
    for var in ctr.get("env", []):
        if "value" in var:
            env[var["name"]] = _DEPENDENT_VAR.sub(
                lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), m.group(0)),
                str(var["value"]),
            )
        elif "secretKeyRef" in var["valueFrom"]:
            ref = var["valueFrom"]["secretKeyRef"]
            env[var["name"]] = secrets[ref["name"]][ref["key"]]
        else:
            env[var["name"]] = f"stand-in-for-{var['valueFrom']['fieldRef']['fieldPath']}"
    return env


def mounts(workload: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """mountPath -> the volume mounted there, for the smokewatch container."""
    volumes = {v["name"]: v for v in pod_template(workload)["spec"]["volumes"]}
    return {m["mountPath"]: volumes[m["name"]] for m in container(workload)["volumeMounts"]}
