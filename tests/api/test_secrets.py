"""Specification: no answer of the API ever carries a secret or a URL's query string."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from examples.demo_target import TargetState
from monitor.alerting.notifiers import CHANNELS
from monitor.store import AlertStateRecord, AlertStore
from monitor.store.alert_records import StateWrite
from probes.base import Status
from tests.alerting.notifiers.channel_samples import MARK, SAMPLES
from tests.api.conftest import CHECKS, SECRET, TOKEN, StartApi, result, seed

EVERY_READ = [
    "/",
    "/health",
    "/ready",
    "/metrics",
    "/openapi.json",
    "/api/v1/status",
    "/api/v1/checks",
    "/api/v1/checks/health",
    "/api/v1/checks/api-status",
    "/api/v1/checks/api-status/results",
    "/api/v1/checks/leaky/results",
    "/api/v1/checks/api-status/uptime?window=24h",
    "/api/v1/incidents",
    "/api/v2/status.json",
    "/api/v2/summary.json",
]
LEAKY = "- {name: leaky, kind: http, url: '${TARGET}/health', description: 'leaky check'}\n"


class TestNoSecretInAnyAnswer:
    def test_after_real_runs_no_body_has_the_secret_or_token(
        self, start_api: StartApi, target: TargetState
    ) -> None:
        """Real runs with a secret in the URL and headers, then every endpoint: no secret shown."""
        target.set_faults(status=500, path_prefix="/api/v1/status")
        api = start_api(checks=CHECKS + LEAKY, api="token: ${API_TOKEN}\n")
        # As if the runner's redaction had missed it: the API's own net must still catch it.
        seed(
            api,
            result(
                "leaky",
                status=Status.FAIL,
                started_at=datetime.now(UTC),  # recent: runs prune what is past retention
                message=f"GET http://t/x?api_key={SECRET} said {SECRET}",
                details={"url": f"http://t/x?api_key={SECRET}", "echo": SECRET},
                assertions=[{"name": "body", "passed": False, "expected": "x", "actual": SECRET}],
            ),
        )

        async def incident() -> None:
            await api.service.store.open_incident(
                "leaky", "eu", started_at=datetime.now(UTC), message=f"token {SECRET} rejected"
            )

        api.call(incident)
        bodies: dict[str, str] = {}
        with api.client(TOKEN) as client:
            for name in ("health", "api-status"):
                run = client.post(f"/api/v1/checks/{name}/run")
                bodies[f"run {name}"] = run.text
            for path in EVERY_READ:
                response = client.get(path)
                assert response.status_code == 200, (path, response.text)
                bodies[path] = response.text
        assert "fail" in bodies["run api-status"]  # the target's fault took effect
        assert "GET http://t/x said ***" in bodies["/api/v1/checks/leaky/results"]
        assert SECRET in api.service.loaded.secrets
        leaks = {path for path, body in bodies.items() if SECRET in body or TOKEN in body}
        assert leaks == set()
        queries = {path for path, body in bodies.items() if "api_key=" in body}
        assert queries == set()


class TestNoChannelSecretInAnyAnswer:
    def test_literal_channel_secrets_are_masked(self, start_api: StartApi) -> None:
        """Every registered channel configured with its secrets written literally (no
        ${ENV}): results, incidents and alerts that quote them show none of them."""
        sections = {
            CHANNELS[name].key: make("http://127.0.0.1:9").section for name, make in SAMPLES.items()
        }
        extra = f"alerting: {{channels: {json.dumps(sections)}}}\n"
        api = start_api(checks=CHECKS + LEAKY, api="token: ${API_TOKEN}\n", extra=extra)
        secrets = api.service.loaded.config.alerting.channels.secret_values()
        assert len(secrets) >= len(CHANNELS)
        said = " ".join(secrets)
        now = datetime.now(UTC)
        seed(api, result("leaky", status=Status.FAIL, started_at=now, message=f"said {said}"))

        async def incident_and_alert() -> None:
            store = api.service.store
            await store.open_incident("leaky", "eu", started_at=now, message=f"said {said}")
            record = AlertStateRecord(
                alert_key="smoke_test_failure/leaky/eu", rule="smoke_test_failure",
                check="leaky", region="eu", state="firing", since=now, value=0.5,
                regions=("eu",), good_count=0, evidence=None, notified="firing",
                last_notified_at=now, seq=1, version=1, updated_at=now, no_data=False,
                severity="critical", summary=f"leaky said {said}",
            )  # fmt: skip
            assert await AlertStore(store).apply(StateWrite(state=record, expected_version=None))

        api.call(incident_and_alert)
        bodies = {}
        with api.client(TOKEN) as client:
            for path in (
                "/api/v1/checks/leaky/results",
                "/api/v1/incidents",
                "/api/v1/alerts?state=all",
                "/",
            ):
                response = client.get(path)
                assert response.status_code == 200, (path, response.text)
                bodies[path] = response.text
        assert "said ***" in bodies["/api/v1/checks/leaky/results"]
        leaks = {path for path, body in bodies.items() if MARK in body}
        assert leaks == set()
