"""The ``smokewatch`` command line.

Exit codes: 0 every check passed (or is degraded); 1 a check failed; 2 the config is
invalid or the monitor could not run (including a check whose probe could not run).

Start-up is part of the interface (``--help`` and ``validate`` answer in well under half
a second): this module imports only Typer and the config loader; the store, the
runtime, Playwright, Rich and the API stack load inside the commands that use them.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Coroutine
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from monitor.cli import collector
from monitor.cli.notices import incident_app, maintenance_app
from monitor.errors import ConfigError, SmokewatchError

if TYPE_CHECKING:
    from monitor.config.loader import LoadedConfig
    from monitor.errors import ConfigProblem

EXIT_OK, EXIT_FAILED, EXIT_ERROR = 0, 1, 2

app = typer.Typer(
    name="smokewatch",
    help="Synthetic monitoring: read-only probes against production, on a schedule.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish, pwsh)
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain click help: Rich and markdown-it cost ~0.3 s of start-up
)


def _print_version(value: bool) -> None:
    if value:
        from monitor.version import smokewatch_version  # noqa: PLC0415

        typer.echo(f"smokewatch {smokewatch_version()}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="print the version, exit"
        ),
    ] = False,
) -> None:
    """Synthetic monitoring: read-only probes against production, on a schedule."""


ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="smokewatch.yaml (default: $SMOKEWATCH_CONFIG or ./smokewatch.yaml)"
    ),
]
RegionOption = Annotated[
    str | None,
    typer.Option(
        "--region", help="this instance's region (default: $SMOKEWATCH_REGION or 'local')"
    ),
]


StrictOption = Annotated[
    bool, typer.Option("--strict", help="an unset ${VAR} is an error, not a warning")
]


def _load(
    config: Path | None, *, allow_unset: bool = False, env: dict[str, str] | None = None
) -> LoadedConfig:
    # The loader brings the config models, hence every probe module: only commands load it.
    from monitor.config.loader import load_config, resolve_config_path  # noqa: PLC0415

    path = resolve_config_path(config, os.environ)
    try:
        loaded = load_config(path, env, allow_unset=allow_unset)
    except ConfigError as exc:
        raise _invalid(exc.problems) from None
    _warn(loaded.warnings)
    return loaded


def _invalid(problems: list[ConfigProblem]) -> typer.Exit:
    # Plain lines, never wrapped: people grep these and CI logs keep them whole.
    typer.echo(f"invalid config: {len(problems)} problem(s)", err=True)
    for problem in problems:
        typer.echo(f"  {problem}", err=True)
    return typer.Exit(EXIT_ERROR)


def _warn(warnings: tuple[ConfigProblem, ...]) -> None:
    if warnings:
        count = len(warnings)
        typer.echo(f"warning: {count} unset variable(s) (--strict makes them errors)", err=True)
        for warning in warnings:
            typer.echo(f"  {warning}", err=True)


def _fail(message: str) -> typer.Exit:
    """One line on stderr, exit 2: never a traceback."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(EXIT_ERROR)


def _declared_region(loaded: LoadedConfig, region: str | None) -> str:
    """This instance's region; one the config does not declare is an error (exit 2)."""
    from monitor.runtime.runtime import resolve_region  # noqa: PLC0415 -- only commands that run

    name = resolve_region(region, os.environ)
    declared = loaded.config.regions
    if declared and name not in declared:
        raise _fail(
            f"region {name!r} is not declared in {loaded.path} (regions: {', '.join(declared)}); "
            "pass --region or set SMOKEWATCH_REGION"
        )
    return name


def _reachable_store(loaded: LoadedConfig) -> None:
    import asyncio  # noqa: PLC0415

    from monitor.config.storage import reach_store  # noqa: PLC0415 -- SQLAlchemy: only here

    problem = asyncio.run(reach_store(loaded.config.storage.url))
    if problem is not None:
        raise _fail(f"storage.url: {problem}")


@app.command()
def validate(
    config: ConfigOption = None,
    online: Annotated[
        bool, typer.Option("--online", help="also connect to the store (storage.url)")
    ] = False,
    strict: StrictOption = False,
) -> None:
    """Check smokewatch.yaml and alert-rules.yaml; print every problem (exit 2 if any).

    An unset ${VAR} is a warning (exit 0) unless --strict: the file is checked with a
    stand-in value, so CI can validate without the production secrets.  An origin whose
    checks cannot fit its request budget at their intervals is a problem (exit 2).
    """
    from monitor.scheduling.budgets import budget_problems  # noqa: PLC0415 -- the config models: only here

    loaded = _load(config, allow_unset=not strict)
    over_budget = budget_problems(loaded)
    if over_budget:
        raise _invalid(over_budget)
    if online:
        _reachable_store(loaded)
    checks = len(loaded.config.checks)
    rules = len(loaded.read_rules.alerts) if loaded.read_rules is not None else 0
    typer.echo(
        typer.style("ok", fg="green") + f": {loaded.path} ({checks} check{'s' * (checks != 1)}, "
        f"{rules} alert rule{'s' * (rules != 1)})"
    )


@app.command()
def init(
    url: Annotated[
        str, typer.Argument(help="the app to watch (its /health and homepage)")
    ] = "https://app.example.com",
    config: Annotated[
        Path, typer.Option("--config", "-c", help="where to write it (alert-rules.yaml beside)")
    ] = Path("smokewatch.yaml"),
    force: Annotated[bool, typer.Option("--force", help="overwrite existing files")] = False,
) -> None:
    """Write a commented starter smokewatch.yaml and alert-rules.yaml that validate as written."""
    from monitor.cli.starter import write_starter  # noqa: PLC0415

    try:
        written = write_starter(config, url, force=force)
    except SmokewatchError as exc:
        raise _fail(str(exc)) from None
    for path in written:
        typer.echo(f"wrote {path}")
    typer.echo(
        f"next: edit it, then 'smokewatch validate -c {config}' and "
        f"'smokewatch run --once -c {config}'"
    )


@app.command()
def schema(
    rules: Annotated[
        bool, typer.Option("--rules", help="the schema of alert-rules.yaml instead")
    ] = False,
) -> None:
    """Print the JSON Schema of smokewatch.yaml (for editors and CI linting)."""
    from monitor.config.schema import config_json_schema, rules_json_schema  # noqa: PLC0415

    document = rules_json_schema() if rules else config_json_schema()
    sys.stdout.write(json.dumps(document, indent=2) + "\n")


@app.command()
def check(
    name: Annotated[str, typer.Argument(help="the check to run now")],
    config: ConfigOption = None,
    region: RegionOption = None,
) -> None:
    """Run one check now and print its result, timings and assertions (nothing is stored)."""
    loaded = _load(config)
    names = [c.name for c in loaded.config.checks]
    if name not in names:
        raise _fail(f"no check named {name!r} (checks: {', '.join(names)})")
    from monitor.cli.output import exit_code_for, make_console, print_check_detail  # noqa: PLC0415
    from monitor.runtime.runtime import Runtime  # noqa: PLC0415

    async def go() -> int:
        async with Runtime(loaded, region=region, use_store=False) as rt:
            (run,) = await rt.runner.run_all([loaded.config.check(name)])
            run = await rt.keep_on_disk(run)
        print_check_detail(make_console(), run)
        return exit_code_for([run])

    raise typer.Exit(_run_async(go))


@app.command()
def run(
    *,
    once: Annotated[bool, typer.Option("--once", help="run every check once, then exit")] = False,
    config: ConfigOption = None,
    region: RegionOption = None,
    checks: Annotated[
        list[str] | None,
        typer.Option("--check", help="run only this check (repeatable)", show_default=False),
    ] = None,
    tags: Annotated[
        list[str] | None,
        typer.Option("--tag", help="run only checks with this tag: key or key=value (repeatable)"),
    ] = None,
    junit: Annotated[
        Path | None, typer.Option("--junit", help="write a JUnit XML report here")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="print results as JSON on stdout")
    ] = False,
) -> None:
    """Run the checks of this region once (the CronJob and CI mode) and store the results.

    --check and --tag narrow it to a subset (a check runs if named or tagged); a name or
    tag that matches nothing is an error (exit 2), never an empty, passing run.
    """
    if not once:
        raise _fail(
            "'run' runs the checks once and exits, so it needs --once: "
            "'smokewatch run --once' (CI, CronJob); for the scheduler, status page and API "
            "use 'smokewatch serve'"
        )
    loaded = _load(config)
    region = _declared_region(loaded, region)
    from monitor.cli.selection import select_checks  # noqa: PLC0415

    try:
        names = select_checks(loaded.config, region, names=checks or [], tags=tags or [])
    except SmokewatchError as exc:
        raise _fail(str(exc)) from None
    from monitor.cli.output import (  # noqa: PLC0415 -- the run stack loads only to run
        exit_code_for,
        make_console,
        print_runs,
        runs_as_json,
        write_junit,
    )
    from monitor.runtime.runtime import Runtime  # noqa: PLC0415

    async def go() -> int:
        async with Runtime(loaded, region=region) as rt:
            runs = await rt.run_once(names)
            if rt.alerting is not None:
                await rt.alerting.drain(rt.config.alerting.delivery.drain_timeout.total_seconds())
            pushed = await rt.telemetry.push() if rt.telemetry is not None else None
        if as_json:
            sys.stdout.write(json.dumps(runs_as_json(runs), indent=2) + "\n")
        else:
            print_runs(make_console(), runs)
        if junit is not None:
            write_junit(junit, runs)
        code = exit_code_for(runs)
        if pushed is not None and pushed.fails_run:
            code = max(code, EXIT_ERROR)
        return code

    raise typer.Exit(_run_async(go))


def _free_port(host: str, port: int, *, make_hint: bool = False) -> None:
    """Exit 2 at once, before anything starts, when ``host:port`` cannot be listened on."""
    from monitor.runtime.listen import bind  # noqa: PLC0415

    try:
        bind(host, port).close()
    except SmokewatchError as exc:
        hint = " (make demo PORT=8081)" if make_hint else ""
        raise _fail(f"{exc}; pick another with --port{hint}") from None


@app.command()
def serve(  # noqa: PLR0917 -- typer maps each parameter to an option
    config: ConfigOption = None,
    region: RegionOption = None,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8080,
    no_scheduler: Annotated[
        bool, typer.Option("--no-scheduler", help="serve the API only; run no checks")
    ] = False,
    role: Annotated[
        str | None,
        typer.Option(
            help="which checks this replica takes when replicas share a region: all, http "
            "(every non-browser kind) or browser (default: $SMOKEWATCH_ROLE or 'all')"
        ),
    ] = None,
) -> None:
    """Run the checks on their schedules and serve the status API and page (until SIGTERM).

    SIGHUP reloads the config (a bad one is logged and the old one keeps running).
    Before anything starts, the store must answer and the port must be free (else exit 2).
    """
    _free_port(host, port)
    role = role if role is not None else os.environ.get("SMOKEWATCH_ROLE", "all")
    roles: dict[str, Literal["all", "http", "browser"]] = {
        "all": "all",
        "http": "http",
        "browser": "browser",
    }
    if role not in roles:
        raise _fail(f"--role must be all, http or browser (got {role!r})")
    loaded = _load(config)
    if not no_scheduler:
        region = _declared_region(loaded, region)
    _reachable_store(loaded)
    # The API stack loads only for 'serve'.
    from monitor.api.app import create_app  # noqa: PLC0415
    from monitor.runtime.serve import serve as serve_app  # noqa: PLC0415
    from monitor.runtime.service import Service  # noqa: PLC0415

    service = Service(loaded, region=region, scheduler=not no_scheduler, role=roles[role])
    api = create_app(service, log=service.log.bind(component="api"))
    raise typer.Exit(
        _run_async(lambda: serve_app(service, api, host=host, port=port, log=service.log))
    )


@app.command()
def demo(
    interval: Annotated[
        float, typer.Option(min=1.0, help="seconds between runs of each check (at least 1)")
    ] = 60.0,
    runs: Annotated[
        int, typer.Option(help="run every check this many times, print, exit (no server)")
    ] = 0,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8080,
) -> None:
    """Start the bundled demo target and serve smokewatch watching it (SQLite, status page)."""
    if not runs:
        _free_port(host, port, make_hint=True)
    from monitor.cli.demo import run_demo  # noqa: PLC0415 -- the demo target loads only for 'demo'

    raise typer.Exit(
        _run_async(lambda: run_demo(interval_s=interval, max_runs=runs, host=host, port=port))
    )


rules_app = typer.Typer(
    name="rules",
    help="Alert rules (alert-rules.yaml) for other tools.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(rules_app)
app.add_typer(incident_app)
app.add_typer(maintenance_app)


class ExportFormat(StrEnum):
    prometheus = "prometheus"
    prometheus_rule = "prometheus-rule"


@rules_app.command("export")
def rules_export(
    fmt: Annotated[
        ExportFormat,
        typer.Option(
            "--format", help="a Prometheus rule file, or a PrometheusRule manifest (Operator)"
        ),
    ] = ExportFormat.prometheus,
    config: ConfigOption = None,
    name: Annotated[
        str, typer.Option(help="prometheus-rule: the manifest's metadata.name")
    ] = "smokewatch-alert-rules",
    namespace: Annotated[
        str | None, typer.Option(help="prometheus-rule: the manifest's metadata.namespace")
    ] = None,
    strict: StrictOption = False,
) -> None:
    """Print the alert rules as Prometheus alerting rules over smokewatch's exported metrics.

    An unset ${VAR} in the config is a warning on stderr unless --strict.
    """
    from monitor.alerting.export import ExportError, export_rules  # noqa: PLC0415 -- only here

    loaded = _load(config, allow_unset=not strict)
    try:
        as_manifest = fmt is ExportFormat.prometheus_rule
        text = export_rules(
            loaded.rules,
            "prometheus-rule" if as_manifest else "prometheus",
            name=name,
            namespace=namespace,
        )
    except ExportError as exc:
        typer.echo(f"cannot export: {exc}", err=True)
        raise typer.Exit(EXIT_ERROR) from None
    sys.stdout.write(text)


def _run_async(make: Callable[[], Coroutine[object, object, int]]) -> int:
    import asyncio  # noqa: PLC0415 -- ~0.1 s: only commands that run something

    collector.resume()  # start-up is over: the work starts
    try:
        return asyncio.run(make())
    except SmokewatchError as exc:
        typer.echo(typer.style(f"error: {exc}", fg="red"), err=True)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130


def main() -> None:
    # smokewatch's models use no pydantic plugin: skip pydantic's scan of every installed
    # package's entry points (10 to 15 ms of every command).  Set the variable (even
    # empty) to have pydantic load the plugins it finds.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    app()
