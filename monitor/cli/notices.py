"""``smokewatch incident ...`` and ``smokewatch maintenance ...``: status-page notices by people.

They talk to a running instance's API (``--url``, default ``$SMOKEWATCH_URL`` or
http://127.0.0.1:8080) with its write token (``--token`` or ``$SMOKEWATCH_API_TOKEN``),
not to the store: the API validates every field against the config in force, refuses
callers without the token, and clears its page cache so the page shows the change at once;
and an operator can post from a laptop without database credentials.  Exit 0 on success,
2 when the API refused (its message is printed) or could not be reached.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

EXIT_OK, EXIT_ERROR = 0, 2
TIMEOUT_S = 30.0
PATH = "/api/v1/status-page"

incident_app = typer.Typer(
    name="incident",
    help="Open, update, resolve and list incidents on the status page (via the API).",
    no_args_is_help=True,
    rich_markup_mode=None,
)
maintenance_app = typer.Typer(
    name="maintenance",
    help="Schedule, update, complete and list maintenance on the status page (via the API).",
    no_args_is_help=True,
    rich_markup_mode=None,
)

UrlOption = Annotated[
    str,
    typer.Option("--url", envvar="SMOKEWATCH_URL", help="the smokewatch instance's base URL"),
]
TokenOption = Annotated[
    str | None,
    typer.Option("--token", envvar="SMOKEWATCH_API_TOKEN", help="api.token (for writes)"),
]
JsonOption = Annotated[bool, typer.Option("--json", help="print the API's JSON answer")]
BodyOption = Annotated[str, typer.Option("--body", "-m", help="the update's text")]
ComponentOption = Annotated[
    list[str] | None,
    typer.Option("--component", help="an affected check, or group:<name> (repeatable)"),
]
DEFAULT_URL = "http://127.0.0.1:8080"


def _call(
    method: str, url: str, path: str, token: str | None, body: dict[str, Any] | None = None
) -> Any:
    import httpx  # noqa: PLC0415 -- only these commands need it

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with httpx.Client(base_url=url, headers=headers, timeout=TIMEOUT_S) as client:
            response = client.request(method, path, json=body)
    except httpx.HTTPError as exc:
        typer.echo(f"error: cannot reach {url}: {exc}", err=True)
        raise typer.Exit(EXIT_ERROR) from None
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if response.status_code >= 400:
        error = answer.get("error", {}) if isinstance(answer, dict) else {}
        message = error.get("message") or response.text[:200]
        typer.echo(f"error: {response.status_code}: {message}", err=True)
        raise typer.Exit(EXIT_ERROR)
    return answer


def _show(notice: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(notice, indent=2))
        return
    typer.echo(f"{notice['kind']} {notice['id']}: {notice['name']} [{notice['status']}]")


def _show_list(answer: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
        return
    for notice in answer["notices"]:
        last = notice["updates"][-1]["body"] if notice["updates"] else ""
        typer.echo(
            f"{notice['id']}\t{notice['status']}\t{notice['impact']}\t{notice['name']}\t{last}"
        )


@incident_app.command("open")
def incident_open(
    name: Annotated[str, typer.Argument(help="the incident's title")],
    *,
    body: BodyOption,
    impact: Annotated[str, typer.Option(help="none, minor, major or critical")] = "minor",
    status: Annotated[str, typer.Option(help="investigating or identified, ...")] = (
        "investigating"
    ),
    component: ComponentOption = None,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Open an incident; prints its id (to post updates to)."""
    payload = {
        "name": name,
        "body": body,
        "impact": impact,
        "status": status,
        "components": component or [],
    }
    _show(_call("POST", url, f"{PATH}/incidents", token, payload), as_json)


@incident_app.command("update")
def incident_update(
    incident_id: Annotated[int, typer.Argument(metavar="ID", help="the incident's id")],
    *,
    status: Annotated[str, typer.Option(help="investigating, identified, monitoring, resolved")],
    body: BodyOption,
    impact: Annotated[str | None, typer.Option(help="a new impact, if it changed")] = None,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Post a timestamped update (and a new status) to an incident."""
    payload: dict[str, Any] = {"status": status, "body": body}
    if impact is not None:
        payload["impact"] = impact
    path = f"{PATH}/incidents/{incident_id}/updates"
    _show(_call("POST", url, path, token, payload), as_json)


@incident_app.command("resolve")
def incident_resolve(
    incident_id: Annotated[int, typer.Argument(metavar="ID", help="the incident's id")],
    *,
    body: Annotated[str, typer.Option("--body", "-m", help="the closing update")] = (
        "This incident has been resolved."
    ),
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Resolve an incident (an update with status resolved)."""
    path = f"{PATH}/incidents/{incident_id}/updates"
    _show(_call("POST", url, path, token, {"status": "resolved", "body": body}), as_json)


@incident_app.command("list")
def incident_list(
    open_only: Annotated[bool, typer.Option("--open", help="only unresolved ones")] = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """List incidents people wrote, newest first: id, status, impact, name, last update."""
    query = "?open=true" if open_only else ""
    _show_list(_call("GET", url, f"{PATH}/incidents{query}", token), as_json)


@maintenance_app.command("schedule")
def maintenance_schedule(
    name: Annotated[str, typer.Argument(help="the maintenance's title")],
    *,
    start: Annotated[str, typer.Option("--from", help="start, ISO 8601 with a zone")],
    end: Annotated[str, typer.Option("--until", help="end, ISO 8601 with a zone")],
    body: BodyOption,
    component: ComponentOption = None,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Schedule a maintenance: shown as scheduled, then in progress, then completed."""
    payload = {
        "name": name,
        "body": body,
        "scheduled_for": start,
        "scheduled_until": end,
        "components": component or [],
    }
    _show(_call("POST", url, f"{PATH}/maintenances", token, payload), as_json)


@maintenance_app.command("update")
def maintenance_update(
    maintenance_id: Annotated[int, typer.Argument(metavar="ID", help="the maintenance's id")],
    *,
    status: Annotated[str, typer.Option(help="scheduled, in_progress, verifying, completed")],
    body: BodyOption,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Post an update (and a new status) to a maintenance; status completed ends it."""
    path = f"{PATH}/maintenances/{maintenance_id}/updates"
    _show(_call("POST", url, path, token, {"status": status, "body": body}), as_json)


@maintenance_app.command("list")
def maintenance_list(
    open_only: Annotated[bool, typer.Option("--open", help="only not completed ones")] = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """List maintenance people scheduled, newest first."""
    query = "?open=true" if open_only else ""
    _show_list(_call("GET", url, f"{PATH}/maintenances{query}", token), as_json)
