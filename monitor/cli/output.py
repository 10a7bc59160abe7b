"""How runs are shown: Rich tables for people, JSON and JUnit XML for machines."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from monitor.artifacts.links import ArtifactLink
from monitor.cli.plaintable import Column, render
from monitor.runner import CheckRun
from monitor.store.records import RESULT_FIELDS, record_values
from probes.base import Status

_STYLE = {
    Status.PASS: "green",
    Status.DEGRADED: "yellow",
    Status.FAIL: "red",
    Status.ERROR: "magenta",
    Status.SUSPECT: "blue",
}
_PHASES = (
    "connect",
    "tls",
    "request",
    "first_byte",
    "transfer",
    "ttfb",
    "dcl",
    "load",
    "lcp",
    "total",
)


# Without a terminal (CI logs, pipes) Rich would wrap at 80 columns; a log line is read
# whole, so be as wide as a table needs (tables only take the width their cells need).
NO_TTY_WIDTH = 1000


def make_console(*, stderr: bool = False) -> Console:
    """A console for people: the terminal's width, or unwrapped lines when not a TTY."""
    console = Console(stderr=stderr)
    if console.is_terminal or os.environ.get("COLUMNS"):
        return console
    return Console(stderr=stderr, width=NO_TTY_WIDTH, soft_wrap=True)


def exit_code_for(runs: Sequence[CheckRun]) -> int:
    """0: all pass or degraded; 1: a check failed; 2: a check could not run at all.

    A failing target outranks a probe that could not run: the target is known broken.
    """
    statuses = {run.status for run in runs}
    if Status.FAIL in statuses:
        return 1
    if Status.ERROR in statuses or Status.SUSPECT in statuses:
        return 2
    return 0


def _plain_status(run: CheckRun) -> str:
    reason = f" ({run.result.reason})" if run.result.reason is not None else ""
    return f"{run.status.value}{reason}"


def _status(run: CheckRun) -> str:
    return f"[{_STYLE[run.status]}]{_plain_status(run)}[/]"


def _row(run: CheckRun, status: str) -> tuple[str, ...]:
    total = run.result.timings.get("total", run.duration_ms)
    return (run.check, run.kind, status, str(run.attempts), f"{total:.1f}", run.result.message)


_COLUMNS = (
    Column("check"),
    Column("kind"),
    Column("status"),
    Column("attempts", right=True),
    Column("total ms", right=True),
    Column("message"),
)


def print_runs(console: Console, runs: Sequence[CheckRun]) -> None:
    """The run's table, its artifact lines and a count per status.

    A terminal gets Rich's coloured table fitted to its width; a log or pipe the same
    box drawn as plain text (``monitor.cli.plaintable``), a row per line, at any size.
    """
    title = f"smokewatch run ({runs[0].region if runs else 'no checks'})"
    if console.is_terminal:
        table = Table(title=title)
        for column in _COLUMNS:
            table.add_column(column.header, justify="right" if column.right else "left")
        for run in runs:
            table.add_row(*_row(run, _status(run)))
        console.print(table)
    else:
        rows = [_row(run, _plain_status(run)) for run in runs]
        console.file.write(render(title, _COLUMNS, rows))
    for run in runs:
        for link in run_links(run):
            # Never wrapped: a link is copied whole.
            console.print(
                f"{run.check}: {link.name} {_where(link)}", highlight=False, soft_wrap=True
            )
    counts = {s: sum(r.status is s for r in runs) for s in Status}
    console.print(", ".join(f"{n} {s.value}" for s, n in counts.items() if n) or "no checks ran")


def print_check_detail(console: Console, run: CheckRun) -> None:
    console.print(
        f"[bold]{run.check}[/] ({run.kind}, region {run.region}): {_status(run)} "
        f"after {run.attempts} attempt(s) in {run.wall_ms:.1f} ms "
        f"(probe {run.duration_ms:.1f} ms, waited {run.wait_ms:.1f} ms): {run.result.message}",
        highlight=False,
    )
    timings = Table(title="timings (ms)")
    phases = [p for p in _PHASES if p in run.result.timings]
    phases += [p for p in run.result.timings if p not in phases]
    for phase in phases:
        timings.add_column(phase, justify="right")
    timings.add_row(*(f"{run.result.timings[p]:.2f}" for p in phases))
    console.print(timings)
    if run.result.assertions:
        table = Table(title="assertions")
        for column in ("", "assertion", "expected", "actual"):
            table.add_column(column)
        for a in run.result.assertions:
            mark = "[green]ok[/]" if a.passed else f"[{_STYLE[a.status_if_failed]}]no[/]"
            table.add_row(mark, a.name, a.expected, a.actual)
        console.print(table)
    for link in run_links(run):
        # Never wrapped or cut, as a table cell would be: a path or link is copied whole.
        console.print(
            f"artifact {link.name} ({link.size} bytes): {_where(link)}",
            highlight=False,
            soft_wrap=True,
        )


def run_links(run: CheckRun) -> tuple[ArtifactLink, ...]:
    """The run's artifacts; a result that went to the spool shows its scratch files."""
    if run.links:
        return run.links
    return tuple(
        ArtifactLink(name=Path(p).name, size=0, content_type="", url=None, location=p)
        for p in run.result.artifacts
    )


def _where(link: ArtifactLink) -> str:
    """What a reader opens: the API link when stored, else the file (or bucket URL)."""
    return link.url or link.location


def _attachment(link: ArtifactLink) -> str:
    """JUnit attachment target: the file's absolute path, else an absolute URL."""
    if Path(link.location).is_absolute():
        return link.location
    if link.url and "://" in link.url:
        return link.url
    return link.location


# The record's fields, in order; the stored id and the artifacts' links come after.
_JSON_FIELDS = tuple(name for name in RESULT_FIELDS if name not in ("artifacts", "id"))


def runs_as_json(runs: Sequence[CheckRun]) -> list[dict[str, Any]]:
    """A result record per run (times rounded to the microsecond), as ``--json`` prints it."""
    out: list[dict[str, Any]] = []
    for run in runs:
        record = run.to_record()
        item = record_values(record, _JSON_FIELDS)
        item["started_at"] = record.started_at.isoformat()
        for name in ("duration_ms", "wall_ms", "wait_ms"):
            item[name] = round(item[name], 3)
        item["result_id"] = run.result_id
        item["artifacts"] = [link.as_json() for link in run_links(run)]
        out.append(item)
    return out


def write_junit(path: Path, runs: Sequence[CheckRun]) -> None:
    """One testsuite per region, one testcase per check: what CI systems show as tests."""
    failures = sum(r.status is Status.FAIL for r in runs)
    errors = sum(not r.status.measured for r in runs)
    suite = ET.Element(
        "testsuite",
        name=f"smokewatch.{runs[0].region if runs else 'local'}",
        tests=str(len(runs)),
        failures=str(failures),
        errors=str(errors),
        time=f"{sum(r.duration_ms for r in runs) / 1000:.3f}",
    )
    for run in runs:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"smokewatch.{run.kind}",
            name=run.check,
            time=f"{run.duration_ms / 1000:.3f}",
        )
        out: list[str] = []
        if run.status is Status.FAIL:
            ET.SubElement(
                case, "failure", message=run.result.message, type=_reason(run)
            ).text = _junit_text(run)
        elif not run.status.measured:
            ET.SubElement(
                case, "error", message=run.result.message, type=_reason(run)
            ).text = _junit_text(run)
        elif run.status is Status.DEGRADED:
            out.append(f"degraded: {run.result.message}")
        # The JUnit Attachments plugin (Jenkins) and GitLab read these lines.
        out += [f"[[ATTACHMENT|{_attachment(link)}]]" for link in run_links(run)]
        if out:
            ET.SubElement(case, "system-out").text = "\n".join(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    root = ET.Element("testsuites")
    root.append(suite)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def _reason(run: CheckRun) -> str:
    return str(run.result.reason or "")


def _junit_text(run: CheckRun) -> str:
    lines = [f"attempts: {run.attempts}"]
    lines += [
        f"{'ok' if a.passed else 'FAILED'}: {a.name}: expected {a.expected}, got {a.actual}"
        for a in run.result.assertions
    ]
    return "\n".join(lines)
