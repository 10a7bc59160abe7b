"""Real failing checks against the demo target: their evidence is reachable by URL from the
result JSON (real Chromium for the browser check, moto's S3 server for the bucket)."""

from __future__ import annotations

import io
import zipfile

import httpx
import pytest

from examples.demo_target import DemoTargetThread
from examples.demo_target.state import DEFAULT_EMAIL, DEFAULT_PASSWORD
from tests.api.conftest import SECRET, TOKEN, LiveApi, StartApi
from tests.support.s3 import Bucket

API = "token: ${API_TOKEN}\npublic_url: http://status.invalid\n"
# A login whose answer (303 + Set-Cookie demo_session) is not what the check expects.
LOGIN_FLOW = f"""\
- name: login-flow
  kind: flow
  steps:
    - name: form
      url: ${{TARGET}}/login
      capture: {{csrf: {{css: "input[name=csrf_token]", attr: value}}}}
    - name: login
      method: POST
      allow_write: true
      url: ${{TARGET}}/login
      form: {{email: {DEFAULT_EMAIL}, password: {DEFAULT_PASSWORD}, csrf_token: "{{{{ csrf }}}}"}}
      expect: {{status: [200]}}
"""
# The URL carries a secret (STATUS_API_KEY): the excerpt's title line must not.
SECRET_IN_URL = """\
- name: api-status
  kind: http
  url: ${TARGET}/api/v1/status?api_key=${STATUS_API_KEY}
  expect: {status: [201]}
"""
# Retried on failure: the first attempt records no trace, the retry (the evidence) does.
BROKEN_PAGE = """\
- name: home-browser
  kind: browser
  url: ${TARGET}/
  required_selectors: ["#no-such-element"]
  selector_timeout_ms: 500
  retries: 1
  retry_on: [fail]
  backoff: {initial: 10ms, max: 50ms}
"""


def run_and_fetch(api: LiveApi, check: str) -> tuple[dict[str, object], dict[str, httpx.Response]]:
    """Run ``check`` through the API, then follow each artifact link of its stored result."""
    with api.client(TOKEN) as client:
        report = client.post(f"/api/v1/checks/{check}/run", timeout=60).json()
        [stored] = client.get(f"/api/v1/checks/{check}/results").json()["results"]
        fetched = {}
        for item in stored["artifacts"]:
            path = httpx.URL(item["url"]).raw_path.decode()  # public_url is not this server
            fetched[item["name"]] = client.get(path)
    return {"report": report, "result": stored}, fetched


class TestHttpEvidence:
    def test_the_failing_response_is_kept_without_its_session_cookie(
        self, start_api: StartApi, served: DemoTargetThread
    ) -> None:
        """A failing flow step's response is response.txt: status line, headers but
        Set-Cookie, linked from the result; the session token it set appears nowhere."""
        served.state.reset()
        api = start_api(api=API, checks=LOGIN_FLOW)
        seen, fetched = run_and_fetch(api, "login-flow")
        [token] = served.state.sessions.active  # the session the login opened
        result = seen["result"]
        assert isinstance(result, dict)
        assert result["status"] == "fail"
        [item] = result["artifacts"]
        assert item["name"] == "response.txt"
        assert item["url"] == (
            f"http://status.invalid/api/v1/results/{result['id']}/artifacts/response.txt"
        )
        text = fetched["response.txt"].text
        assert fetched["response.txt"].headers["content-type"] == "text/plain; charset=utf-8"
        assert "HTTP/1.1 303 See Other" in text
        assert "location: /account" in text
        assert "(headers removed: set-cookie)" in text
        assert token not in text
        assert "demo_session" not in text
        assert item["size"] == len(fetched["response.txt"].content)

    def test_secret_values_are_masked_in_the_excerpt(self, start_api: StartApi) -> None:
        """A secret in the check's URL is masked in response.txt by the monitor's redactor."""
        api = start_api(api=API, checks=SECRET_IN_URL)
        _, fetched = run_and_fetch(api, "api-status")
        text = fetched["response.txt"].text
        assert "HTTP/1.1 200 OK" in text
        assert SECRET not in text
        assert "api_key=***" in text


@pytest.mark.browser
class TestBrowserEvidence:
    def test_screenshot_and_trace_are_reachable_by_url(self, start_api: StartApi) -> None:
        """A browser check failing in real Chromium, then on its retry, links the retry's PNG
        and trace zip, and both open."""
        api = start_api(api=API, checks=BROKEN_PAGE)
        seen, fetched = run_and_fetch(api, "home-browser")
        result = seen["result"]
        assert isinstance(result, dict)
        assert result["status"] == "fail"
        assert [a["attempt"] for a in result["details"]["attempts"]] == [1, 2]
        assert sorted(fetched) == ["screenshot.png", "trace.zip"]
        assert fetched["screenshot.png"].content.startswith(b"\x89PNG\r\n\x1a\n")
        assert fetched["screenshot.png"].headers["content-type"] == "image/png"
        with zipfile.ZipFile(io.BytesIO(fetched["trace.zip"].content)) as trace:
            assert any(name.endswith(".trace") for name in trace.namelist())
        report = seen["report"]
        assert isinstance(report, dict)
        assert [a["name"] for a in report["artifacts"]] == ["screenshot.png", "trace.zip"]


class TestS3Evidence:
    def test_served_from_the_bucket(self, start_api: StartApi, bucket: Bucket) -> None:
        """With artifacts in an S3 bucket, the same link serves the bytes from the bucket."""
        api = start_api(api=API, checks=LOGIN_FLOW, extra=bucket.yaml())
        seen, fetched = run_and_fetch(api, "login-flow")
        result = seen["result"]
        assert isinstance(result, dict)
        key = f"smokewatch/{result['id']}/response.txt"
        assert bucket.object_keys() == {key}
        stored = bucket.client().get_object(Bucket=bucket.name, Key=key)["Body"].read()
        assert fetched["response.txt"].content == stored
        assert b"303 See Other" in stored
