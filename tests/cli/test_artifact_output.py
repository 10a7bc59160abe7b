"""Evidence in the CLI's output: ``run --once`` (text, --json, JUnit) and ``check`` name each
artifact of a failure, and every path they give is a file holding it."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

from examples.demo_target import TargetState
from tests.cli.conftest import PREAMBLE, Completed

Run = Callable[..., Completed]
# /health answers 200 {"status": "healthy"}: expecting 201 fails it, with a response to keep.
FAILING = """\
- name: health
  kind: http
  url: ${TARGET}/health
  expect: {status: [201]}
- name: version
  kind: http
  url: ${TARGET}/health
"""
ATTACHMENT = re.compile(r"^\[\[ATTACHMENT\|(.+)\]\]$")


def config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "smokewatch.yaml"
    preamble = PREAMBLE.replace("{db}", str(tmp_path / "results.db"))
    body = preamble.replace("checks:\n", extra + "checks:\n")
    path.write_text(body + "".join(f"  {line}\n" for line in FAILING.splitlines()))
    return path


class TestRunOnce:
    def test_junit_attaches_the_stored_files(
        self, smokewatch: Run, tmp_path: Path, target: TargetState
    ) -> None:
        """The failing testcase's system-out has one [[ATTACHMENT|path]] line per artifact,
        pointing at the stored file (beside the SQLite store by default); --json links it."""
        report = tmp_path / "junit.xml"
        done = smokewatch(
            "run", "--once", "--json", "--config", str(config(tmp_path)), "--junit", str(report)
        )
        assert done.code == 1, done.stderr
        cases = {c.get("name"): c for c in ET.parse(report).getroot().iter("testcase")}
        out = cases["health"].find("system-out")
        assert out is not None
        assert out.text is not None
        [line] = out.text.splitlines()
        match = ATTACHMENT.match(line)
        assert match is not None
        attached = Path(match.group(1))
        assert attached.is_absolute()
        assert attached.parent.parent == tmp_path / "results.db.artifacts"
        assert "HTTP/1.1 200 OK" in attached.read_text()
        assert cases["version"].find("system-out") is None  # a pass has no evidence

        by_check = {r["check"]: r for r in json.loads(done.stdout)}
        [link] = by_check["health"]["artifacts"]
        result_id = by_check["health"]["result_id"]
        assert link == {
            "name": "response.txt",
            "size": attached.stat().st_size,
            "content_type": "text/plain; charset=utf-8",
            "url": f"/api/v1/results/{result_id}/artifacts/response.txt",
            "location": str(attached),
        }
        assert by_check["version"]["artifacts"] == []

    def test_text_output_gives_the_absolute_link(
        self, smokewatch: Run, tmp_path: Path, target: TargetState
    ) -> None:
        """With api.public_url set, the table's footer gives each artifact's absolute URL."""
        path = config(tmp_path, extra="api: {public_url: 'https://status.example.com'}\n")
        done = smokewatch("run", "--once", "--config", str(path))
        assert done.code == 1, done.stderr
        found = re.search(
            r"health: response\.txt (https://status\.example\.com/api/v1/results/\d+/"
            r"artifacts/response\.txt)",
            done.stdout,
        )
        assert found is not None, done.stdout


class TestCheck:
    def test_check_keeps_the_evidence_in_artifacts_dir(
        self, smokewatch: Run, tmp_path: Path, target: TargetState
    ) -> None:
        """``check`` stores nothing: the excerpt is written to runner.artifacts_dir and named."""
        scratch = tmp_path / "scratch"
        path = config(tmp_path, extra=f"runner: {{artifacts_dir: '{scratch}'}}\n")
        done = smokewatch("check", "health", "--config", str(path))
        assert done.code == 1, done.stderr
        [written] = scratch.iterdir()
        assert written.name.startswith("health-")
        assert written.suffix == ".txt"
        assert "HTTP/1.1 200 OK" in written.read_text()
        size = written.stat().st_size
        assert f"artifact response.txt ({size} bytes): {written}\n" in done.stdout
