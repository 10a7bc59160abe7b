"""Specifications of the write endpoints: run a check now, reload the config."""

from __future__ import annotations

from pathlib import Path

from examples.demo_target import TargetState
from tests.api.conftest import CHECKS, TOKEN, StartApi, result, seed

WRITES = "token: ${API_TOKEN}\n"


class TestRunNow:
    def test_runs_the_check_against_the_target_and_stores_it(
        self, start_api: StartApi, target: TargetState
    ) -> None:
        """A run through the API probes the real target, and its result shows everywhere at once."""
        api = start_api(api=WRITES + "cache: 60s\n")
        with api.client(TOKEN) as client:
            assert client.get("/api/v1/status").json()["services"]["health"] == "unknown"
            response = client.post("/api/v1/checks/health/run")
            run = response.json()
            status = client.get("/api/v1/status").json()
            results = client.get("/api/v1/checks/health/results").json()["results"]
        assert response.status_code == 200
        assert (run["check"], run["kind"], run["region"], run["status"]) == (
            "health",
            "http",
            "eu",
            "pass",
        )
        assert run["attempts"] == 1
        assert run["duration_ms"] > 0
        assert status["services"]["health"] == "healthy"  # the run cleared the cached answer
        assert [r["run_id"] for r in results] == [run["run_id"]]

    def test_a_failing_target_reports_fail(self, start_api: StartApi, target: TargetState) -> None:
        """A target answering 503 makes the run and the check's status fail, reason http_status."""
        target.set_faults(status=503, path_prefix="/health")
        api = start_api(api=WRITES)
        with api.client(TOKEN) as client:
            run = client.post("/api/v1/checks/health/run").json()
            status = client.get("/api/v1/status").json()
            results = client.get("/api/v1/checks/health/results").json()["results"]
            page = client.get("/").text
        assert run["status"] == "fail"
        assert "503" in run["message"]
        assert (status["services"]["health"], status["status"]) == ("down", "down")
        assert run["reason"] == "http_status"
        assert [(r["status"], r["reason"]) for r in results] == [("fail", "http_status")]
        assert 'eu: <span class="label major">Failing: http_status</span>' in page
        assert '<span class="label major">Down: http_status</span>' in page

    def test_checks_that_do_not_run_here_are_404(self, start_api: StartApi) -> None:
        """Unknown, disabled and other-region checks cannot be run from this instance."""
        api = start_api(
            api=WRITES,
            checks="""\
            - {name: health, kind: http, url: '${TARGET}/health', regions: [us]}
            - {name: off, kind: http, url: '${TARGET}/health', enabled: false}
            """,
        )
        with api.client(TOKEN) as client:
            answers = {
                name: client.post(f"/api/v1/checks/{name}/run")
                for name in ("nope", "off", "health")
            }
        assert {name: r.status_code for name, r in answers.items()} == dict.fromkeys(answers, 404)
        assert answers["health"].json()["error"]["message"] == (
            "no enabled check named 'health' runs in region 'eu'"
        )


class TestReload:
    def test_a_valid_config_is_swapped_in_and_history_kept(self, start_api: StartApi) -> None:
        """After a reload the new checks are served and the stored results are still there."""
        api = start_api(api=WRITES)
        seed(api, result("health"))
        path = api.service.loaded.path
        path.write_text(
            path.read_text() + "  - {name: extra, kind: http, url: '${TARGET}/health'}\n"
        )
        with api.client(TOKEN) as client:
            response = client.post("/api/v1/reload")
            names = [c["name"] for c in client.get("/api/v1/checks").json()["checks"]]
            history = client.get("/api/v1/checks/health/results").json()["results"]
        assert response.status_code == 200
        assert response.json() == {"status": "reloaded", "checks": 3}
        assert names == ["health", "api-status", "extra"]
        assert len(history) == 1

    def test_an_invalid_config_is_refused_with_every_problem(self, start_api: StartApi) -> None:
        """A bad config is a 422 listing each problem, and the old config keeps serving."""
        api = start_api(api=WRITES)
        path: Path = api.service.loaded.path
        path.write_text(
            path.read_text().replace(CHECKS.splitlines()[1], "  kind: nonsense")
            + "  - {name: bad name!, kind: http, url: '${TARGET}/health'}\n"
        )
        with api.client(TOKEN) as client:
            response = client.post("/api/v1/reload")
            names = [c["name"] for c in client.get("/api/v1/checks").json()["checks"]]
        error = response.json()["error"]
        assert response.status_code == 422
        assert error["code"] == "invalid_config"
        assert "the old one keeps running" in error["message"]
        assert len(error["problems"]) >= 2
        assert all(str(path) in problem for problem in error["problems"])
        assert names == ["health", "api-status"]
