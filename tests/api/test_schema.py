"""The OpenAPI schema as a contract: schemathesis fuzzes every operation of the live server.

No answer may be a 5xx, and every answer must match what the schema documents (status
code, content type, body).  Writes are fuzzed with the bearer token so they get past
the guard; the check names it invents rarely exist, so little actually runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import Case, GenerationMode

from examples.demo_target import DemoTargetThread
from monitor.version import smokewatch_version
from probes.base import Status
from tests.api.conftest import TOKEN, LiveApi, launch, result, seed

MAX_EXAMPLES = 10


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, served: DemoTargetThread) -> Iterator[LiveApi]:
    """One server for the whole module, with some history to return."""
    api = launch(tmp_path_factory.mktemp("schema"), served.url, api="token: ${API_TOKEN}\n")
    now = datetime.now(UTC)
    seed(
        api,
        *(
            result(started_at=now - timedelta(hours=h), status=s)
            for h, s in enumerate([Status.PASS, Status.FAIL, Status.DEGRADED] * 4)
        ),
    )
    yield api
    api.stop()


@pytest.fixture(scope="module")
def api_schema(live: LiveApi) -> schemathesis.BaseSchema:
    """The schema as the live server publishes it."""
    return schemathesis.openapi.from_url(live.url + "/openapi.json")


OPERATIONS = [
    ("GET", "/"),
    ("GET", "/health"),
    ("GET", "/ready"),
    ("GET", "/metrics"),
    ("GET", "/api/v1/status"),
    ("GET", "/api/v1/checks"),
    ("GET", "/api/v1/checks/{id}"),
    ("GET", "/api/v1/checks/{id}/results"),
    ("GET", "/api/v1/checks/{id}/uptime"),
    ("GET", "/api/v1/incidents"),
    ("GET", "/api/v2/status.json"),
    ("GET", "/api/v2/summary.json"),
    ("POST", "/api/v1/checks/{id}/run"),
    ("POST", "/api/v1/reload"),
    ("GET", "/api/v1/alerts"),
    ("GET", "/api/v1/silences"),
    ("POST", "/api/v1/silences"),
    ("DELETE", "/api/v1/silences/{id}"),
    ("GET", "/api/v1/results/{result_id}/artifacts"),
    ("GET", "/api/v1/results/{result_id}/artifacts/{name}"),
    ("GET", "/checks/{name}"),
    ("GET", "/badges/checks/{name}/{kind}.svg"),
    ("GET", "/badges/groups/{group}/{kind}.svg"),
    ("GET", "/api/v1/heartbeat/{check}/{token}"),
    ("POST", "/api/v1/heartbeat/{check}/{token}"),
    ("GET", "/api/v1/heartbeat/{check}/{token}/{signal}"),
    ("POST", "/api/v1/heartbeat/{check}/{token}/{signal}"),
    ("GET", "/api/v2/incidents.json"),
    ("GET", "/api/v2/scheduled-maintenances.json"),
    ("GET", "/feed.atom"),
    ("GET", "/api/v1/status-page/incidents"),
    ("POST", "/api/v1/status-page/incidents"),
    ("GET", "/api/v1/status-page/incidents/{id}"),
    ("POST", "/api/v1/status-page/incidents/{id}/updates"),
    ("GET", "/api/v1/status-page/maintenances"),
    ("POST", "/api/v1/status-page/maintenances"),
    ("GET", "/api/v1/status-page/maintenances/{id}"),
    ("POST", "/api/v1/status-page/maintenances/{id}/updates"),
]
# tests/api/test_alerts.py fuzzes these itself (a valid silence may rightly get a 422).
FUZZED_ELSEWHERE = {"/api/v1/alerts", "/api/v1/silences", "/api/v1/silences/{id}"}

WITH_PARAMETERS = {
    "/api/v1/checks/{id}",
    "/api/v1/checks/{id}/results",
    "/api/v1/checks/{id}/uptime",
    "/api/v1/incidents",
    "/api/v1/checks/{id}/run",
    "/api/v1/results/{result_id}/artifacts",
    "/api/v1/results/{result_id}/artifacts/{name}",
    "/checks/{name}",
    "/badges/checks/{name}/{kind}.svg",
    "/badges/groups/{group}/{kind}.svg",
    "/api/v1/heartbeat/{check}/{token}",
    "/api/v1/heartbeat/{check}/{token}/{signal}",
    "/api/v1/status-page/incidents",
    "/api/v1/status-page/incidents/{id}",
    "/api/v1/status-page/incidents/{id}/updates",
    "/api/v1/status-page/maintenances",
    "/api/v1/status-page/maintenances/{id}",
    "/api/v1/status-page/maintenances/{id}/updates",
}
# A schema-valid incident or maintenance may rightly get a 422 (a component naming no check,
# a window ending before it starts): only invalid data is fuzzed; tests/api/test_notices.py
# covers the rest.
NEGATIVE_ONLY = {
    ("POST", "/api/v1/status-page/incidents"),
    ("POST", "/api/v1/status-page/maintenances"),
}
FUZZED = [(m, p) for m, p in OPERATIONS if p not in FUZZED_ELSEWHERE]
CASES = [(m, p, GenerationMode.POSITIVE) for m, p in FUZZED if (m, p) not in NEGATIVE_ONLY] + [
    (m, p, GenerationMode.NEGATIVE) for m, p in FUZZED if p in WITH_PARAMETERS
]
CASE_IDS = [f"{m} {p} {mode}" for m, p, mode in CASES]


class TestOpenApiDocument:
    def test_documents_every_endpoint(self, live: LiveApi) -> None:
        """The schema names the API, its version and every endpoint, errors included."""
        document = httpx.get(live.url + "/openapi.json").json()
        assert document["info"]["title"] == "smokewatch status API"
        assert document["info"]["version"] == smokewatch_version()
        assert {(m.upper(), p) for p, ops in document["paths"].items() for m in ops} == set(
            OPERATIONS
        )
        results = document["paths"]["/api/v1/checks/{id}/results"]["get"]
        assert set(results["responses"]) >= {"200", "401", "403", "404", "422", "503"}
        assert results["responses"]["422"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorResponse"
        }
        run = document["paths"]["/api/v1/checks/{id}/run"]["post"]
        assert run["security"] == [{"HTTPBearer": []}]


class TestFuzzing:
    # schemathesis's pytest integration (``from_fixture``) does not run on pytest 9, so
    # each operation gets its own Hypothesis run here: valid data for every operation,
    # invalid data for those that take parameters.
    @pytest.mark.parametrize(("method", "path", "mode"), CASES, ids=CASE_IDS)
    def test_no_5xx_and_answers_match_the_schema(
        self,
        live: LiveApi,
        api_schema: schemathesis.BaseSchema,
        method: str,
        path: str,
        mode: GenerationMode,
    ) -> None:
        """Fuzzed requests never get a 5xx, and every answer conforms to the documented schema."""
        operation = api_schema[path][method]
        seen: list[int] = []

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case: Case[Any]) -> None:
            response = case.call_and_validate(
                base_url=live.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
            )
            seen.append(response.status_code)

        fuzz()
        assert seen, "no request was made"
        assert max(seen) < 500
