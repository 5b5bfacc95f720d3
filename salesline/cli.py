"""The `salesline` console script: database set-up, demo data, organisations, users, API tokens,
process definitions and the web server.

Commands parse arguments, call services and print; they never write models themselves. Expected
failures print a message (and each problem on its own line) to stderr and exit 1; usage errors
exit 2, as argparse does.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_WORKERS = 2
# Worker class and recycling, shared with the benchmarks (config/gunicorn.py says why).
GUNICORN_CONFIG = str(Path(__file__).resolve().parents[1] / "config" / "gunicorn.py")
WSGI_APP = "config.wsgi:application"


class CommandFailed(Exception):
    """An expected failure outside the domain (a missing file, say): message only, exit 1."""


# ---------------------------------------------------------------- commands


def _create_database() -> bool:
    """Create the database DATABASE_URL names when it does not exist yet; True if created."""
    from django.db import OperationalError, connection

    name = connection.settings_dict["NAME"]
    if connection.vendor == "sqlite":
        if connection.is_in_memory_db() or Path(name).exists():
            return False
        # SQLite creates the file but not its folder (var/ in a fresh checkout).
        Path(name).parent.mkdir(parents=True, exist_ok=True)
        return True
    if connection.vendor != "postgresql":
        return False
    try:
        connection.ensure_connection()
        return False
    except OperationalError:
        # The server may be up with the database missing: ask the maintenance database, the
        # way Django creates its test databases. Any other failure re-raises below. (Django
        # warns when that database is unreachable too; the error printed says enough.)
        with (
            warnings.catch_warnings(action="ignore", category=RuntimeWarning),
            connection._nodb_cursor() as cursor,
        ):
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone():
                raise
            cursor.execute(f"CREATE DATABASE {connection.ops.quote_name(name)}")
        return True


def cmd_init(args: argparse.Namespace) -> int:
    from django.core.management import call_command
    from django.db import connection

    created = _create_database()
    call_command("migrate", interactive=False, verbosity=0)
    # The shared cache's table when CACHES uses the database (production's default); a table that
    # exists is left as it is, and other backends need none.
    call_command("createcachetable", verbosity=0)
    state = "created" if created else "up to date"
    print(f"Database {state} ({connection.vendor}: {connection.settings_dict['NAME']}).")
    if not args.demo:
        return 0

    from salesline import demo

    if demo.demo_loaded():
        print("The demo data is already loaded; nothing was added.")
        token = demo.demo_token()
    else:
        summary = demo.load_demo()
        print(
            f"Demo data loaded: {len(summary.organisations)} organisations, "
            f"{summary.companies} companies, {summary.people} people, {summary.leads} leads, "
            f"{summary.opportunities} opportunities."
        )
        token = summary.token
    print(f"Open http://{DEFAULT_HOST}:{DEFAULT_PORT}/ after `salesline serve`.")
    print(f"Log in as {demo.DEMO_EMAIL} with the password {demo.DEMO_PASSWORD}")
    print(
        "The demo login coordinates the CoTech network of five co-operatives: switch to "
        "Brightwork Co-op and open Networks."
    )
    print(f"API token: {token}")
    return 0


def cmd_org_create(args: argparse.Namespace) -> int:
    from salesline.process.services import organisation_create

    organisation = organisation_create(
        name=args.name, template=args.template, phone_region=args.phone_region
    )
    print(organisation.slug)
    return 0


def cmd_org_update(args: argparse.Namespace) -> int:
    from salesline.accounts.services import (
        organisation_get,
        organisation_update,
        system_actor,
    )

    given = {
        key: value
        for key, value in (
            ("phone_region", args.phone_region),
            ("country", args.country),
            ("booking_url", args.booking_url),
            ("from_email", args.from_email),
        )
        if value is not None
    }
    if not given:
        args.usage_error(
            "give at least one of --phone-region, --country, --booking-url, --from-email"
        )
    organisation = organisation_get(slug=args.org)
    before = {key: getattr(organisation, key) for key in given}
    refused = (
        "The phone region was not changed."
        if list(given) == ["phone_region"]
        else "The settings were not changed."
    )
    organisation = organisation_update(
        actor=system_actor(organisation, "cli"), data=given, message=refused
    )
    labels = {
        "phone_region": "Phone region",
        "country": "Country",
        "booking_url": "Booking link",
        "from_email": "From address",
    }
    for key in given:
        after = getattr(organisation, key)
        change = "unchanged" if after == before[key] else f"was {before[key] or 'none'}"
        print(f"{labels[key]} of {organisation.slug}: {after or 'none'} ({change}).")
    return 0


def cmd_user_create(args: argparse.Namespace) -> int:
    from salesline.accounts.services import (
        organisation_get,
        parse_role,
        system_actor,
        user_create,
    )

    organisation = organisation_get(slug=args.org)
    password = args.password
    # "-" keeps the password out of shell history and the process list.
    if password == "-":  # noqa: S105 - the stdin marker, not a password
        password = sys.stdin.readline().rstrip("\n")
    user = user_create(
        actor=system_actor(organisation, "cli"),
        email=args.email,
        role=args.role,
        password=password,
    )
    print(f"{user.email} is {parse_role(args.role)} in {organisation.slug}.")
    return 0


def cmd_token_create(args: argparse.Namespace) -> int:
    from salesline.accounts.services import organisation_get, system_actor, token_create, user_get

    organisation = organisation_get(slug=args.org)
    user = user_get(email=args.email)
    _, plain = token_create(actor=system_actor(organisation, "cli"), user=user, name=args.name)
    print(plain)
    return 0


def cmd_process_templates(args: argparse.Namespace) -> int:
    from salesline.process.definition import template_names

    for name in template_names():
        print(name)
    return 0


def cmd_process_load(args: argparse.Namespace) -> int:
    from salesline.accounts.services import organisation_get, system_actor
    from salesline.process.definition import template_names
    from salesline.process.services import definition_source, process_check, process_load

    organisation = organisation_get(slug=args.org)
    try:
        text = definition_source(name_or_path=args.source)
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise CommandFailed(
            f"Cannot read '{args.source}': {reason}. Give a YAML file or a template "
            f"({', '.join(template_names())})."
        ) from None
    actor = system_actor(organisation)
    if args.check:
        spec = process_check(actor=actor, text=text)
        print(f"'{spec.name}' is valid for {organisation.slug}; nothing was loaded.")
    else:
        row = process_load(actor=actor, text=text)
        print(f"Loaded '{row.spec['name']}' into {organisation.slug} as version {row.version}.")
    return 0


def cmd_process_export(args: argparse.Namespace) -> int:
    from salesline.accounts.services import organisation_get
    from salesline.process.selectors import definition_row_for

    organisation = organisation_get(slug=args.org)
    row = definition_row_for(organisation)
    if row is None:
        raise CommandFailed(
            f"{organisation.slug} has no process definition: load one with "
            "`salesline process load`."
        )
    text = row.source if row.source.endswith("\n") else row.source + "\n"
    if args.file is None:
        sys.stdout.write(text)
        return 0
    try:
        Path(args.file).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CommandFailed(f"Cannot write '{args.file}': {exc.strerror}.") from None
    print(f"Wrote version {row.version} of {organisation.slug}'s definition to {args.file}.")
    return 0


def member_actor(org_slug: str, email: str):
    """The actor for `--org SLUG --as EMAIL`: a member acting in their organisation."""
    from salesline.accounts.services import actor_for, organisation_get, user_get

    return actor_for(user_get(email=email), organisation_get(slug=org_slug))


def _print_progress(job) -> None:
    from salesline.records.importing.services import progress_of

    p = progress_of(job)
    rate = f"{p['rows_per_second']:,.0f} {job.unit}s/s" if p["rows_per_second"] else ""
    eta = f", about {p['eta_seconds']:.0f} s left" if p["eta_seconds"] is not None else ""
    print(
        f"\r{p['rows_done']:,} of ~{p['rows_total']:,} {job.unit}s ({rate}{eta})",
        end="",
        file=sys.stderr,
        flush=True,
    )


def cmd_import(args: argparse.Namespace) -> int:
    import json

    from salesline.core import boundedjson
    from salesline.records.importing import services as imports

    actor = member_actor(args.org, args.as_email)
    if args.kind == "undo":
        job = imports.import_undo(actor=actor, import_id=args.target)
        report = job.undo_report
        if args.json:
            print(json.dumps({"import_id": job.pk, "status": job.status, **report}))
        else:
            print(
                f"Import {job.pk} undone: {report['removed']} records removed, "
                f"{report['restored']} given their previous values back."
            )
            if report["kept_changed_since"]:
                print(
                    "Left as they are (edited since the import): "
                    + ", ".join(map(str, report["kept_changed_since"]))
                )
        return 0
    path = Path(args.target)
    if not path.is_file():
        raise CommandFailed(f"no file '{path}'")
    mapping = None
    if args.mapping:
        try:
            mapping = boundedjson.loads(Path(args.mapping).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CommandFailed(f"mapping file '{args.mapping}': {exc}") from None
        if not isinstance(mapping, dict):
            raise CommandFailed(
                f"mapping file '{args.mapping}' must hold an object: "
                '{"Column header": "field", ...}'
            )
    constants: dict[str, str] = {}
    for pair in args.set or ():
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise CommandFailed(
                f"--set '{pair}' is not FIELD=VALUE (e.g. --set source=\"Archiving Expo 2026\")."
            )
        if key.strip() in constants:
            raise CommandFailed(f"--set gives '{key.strip()}' twice; give one value.")
        constants[key.strip()] = value
    show_progress = not args.json and sys.stderr.isatty()
    job = imports.import_start(
        actor=actor,
        kind=args.kind,
        file=path,
        file_name=path.name,
        mapping=mapping,
        region=args.region,
        on_duplicate=args.on_duplicate,
        dry_run=args.dry_run,
        constants=constants,
        inline=True,  # the console waits, showing progress, whatever the file's size
        progress=_print_progress if show_progress else None,
    ).job
    if show_progress:
        print(file=sys.stderr)
    report = imports.import_report(job)
    if args.json:
        keys = ("import_id", "status", "dry_run", "created", "updated", "duplicates", "rejected")
        out = {k: report[k] for k in keys}
        out |= {
            "constants": report["constants"],
            "possible_duplicates": report["possible_duplicate_rows"],
            "companies_created": report["companies_created"],
            "notes": report["notes"],
            "error": report["error"],
        }
        print(json.dumps(out, default=str))
    else:
        what = "Dry run of" if job.dry_run else "Imported"
        print(
            f"{what} {job.file_name} (import {job.pk}): {job.created} created, {job.updated} "
            f"updated, {job.duplicates} duplicates, {job.rejected} rejected, "
            f"{job.possible_duplicates} possible duplicates to review."
        )
        for note in report["notes"]:
            print(f"  note: {note}")
        for field, value in report["constants"].items():
            print(f"  every {job.unit}: {field} = {value}")
        for issue in report["rejected"][:20]:
            who = ", ".join(filter(None, (issue["name"], issue["email"])))
            print(f"  {job.unit} {issue['row']}{f' ({who})' if who else ''}: {issue['reason']}")
        if job.rejected > 20:
            print(f"  ... and more: GET /api/v1/imports/{job.pk}/rejected.csv lists them all.")
    if job.status == "failed":
        return _error(f"error: the import failed: {job.error}")
    return 0


def export_filters(pairs: Sequence[str], left_over: Sequence[str]) -> dict[str, str]:
    """The list query of `export`: `--filter KEY=VALUE` (repeatable) and every other
    `--KEY VALUE` or `--KEY=VALUE` option, which argparse leaves over."""
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise CommandFailed(f"--filter '{pair}' is not KEY=VALUE (e.g. source=Website).")
        params[key.strip()] = value
    position = 0
    while position < len(left_over):
        option = left_over[position]
        if not option.startswith("--") or option == "--":
            raise CommandFailed(
                f"unexpected argument '{option}': give filters as --KEY VALUE or "
                "--filter KEY=VALUE."
            )
        key, sep, value = option[2:].partition("=")
        if not sep:
            position += 1
            # A value may start with one dash (`--ordering -created_at`), not with two.
            if position == len(left_over) or left_over[position].startswith("--"):
                raise CommandFailed(f"filter '--{key}' needs a value.")
            value = left_over[position]
        params[key] = value
        position += 1
    return params


def cmd_export(args: argparse.Namespace) -> int:
    from salesline.records import export as exports
    from salesline.records.fields import KINDS

    kind = exports.export_kind(args.kind)
    actor = member_actor(args.org, args.as_email)
    params = export_filters(args.filter, args.filters_left_over)
    _, query, filters = exports.parse_export_query(kind, params, actor)
    path = Path(args.file)
    export_format = args.format or ("xlsx" if path.suffix.lower() == ".xlsx" else "csv")
    # Written beside FILE and renamed at the end: a failed export leaves no half file behind.
    part = path.with_name(f".{path.name}.part")
    try:
        with open(part, "wb") as stream:
            result = exports.records_export(
                actor=actor, kind=kind, query=query, format=export_format, filters=filters
            )
            result.write(stream)
        part.replace(path)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise CommandFailed(f"Cannot write '{path}': {exc.strerror or exc}.") from None
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    # The wording scripts match on: "Exported N leads to FILE" (the plural, whatever N).
    print(f"Exported {result.written} {KINDS[kind].plural} to {path}")
    return 0


def _percent(rate) -> str:
    return "—" if rate is None else f"{rate:.1%}"


def _decimal(number, digits: int = 1) -> str:
    return "—" if number is None else f"{number:,.{digits}f}"


def cmd_metrics(args: argparse.Namespace) -> int:
    import json

    from salesline.accounts.services import organisation_get, system_actor
    from salesline.analytics.filters import parse_metric_filters
    from salesline.analytics.flow_selectors import flow_report

    actor = (
        member_actor(args.org, args.as_email)
        if args.as_email
        else system_actor(organisation_get(slug=args.org))
    )
    params = export_filters(args.filter, args.filters_left_over)
    for name, value in (
        ("pipeline", args.pipeline),
        ("from", args.date_from),
        ("to", args.date_to),
    ):
        if value is not None:
            params[name] = value
    filters = parse_metric_filters(actor, params)
    report = flow_report(actor=actor, filters=filters)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return 0
    print(
        f"{filters.pipeline.name} ({report['pipeline']}), {report['from']} to {report['to']}"
        + "".join(f", {key}={value}" for key, value in report["filters"].items())
    )
    header = ("stage", "arrivals", "exits", "to next", "to won", "median d", "p85 d", "WIP")
    rows = [(*header, "stalled")]
    for stage in report["stages"]:
        rows.append(
            (
                stage["stage"],
                str(stage["arrivals"]),
                str(stage["exit_count"]),
                _percent(stage["conversion_to_next"]),
                _percent(stage["conversion_to_won"]),
                _decimal(stage["median_days_in_stage"]),
                _decimal(stage["p85_days_in_stage"]),
                str(stage["wip"]),
                str(stage["stalled"]),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    win_rate = report["win_rate"]
    print(
        f"Win rate {'—' if win_rate is None else f'{win_rate * 100:.1f} %'} "
        f"({report['won']} won, {report['lost']} lost); "
        f"average won value {_decimal(report['average_won_value'], 2)}; "
        f"average cycle {_decimal(report['average_cycle_days'])} days; "
        f"sales velocity {_decimal(report['sales_velocity'], 2)} a day "
        f"({report['open_at_end']} open at the end)"
    )
    bottleneck = report["bottleneck"]
    if bottleneck is None:
        print("Bottleneck: none (no open stage has data in the period)")
    else:
        names = {stage["stage"]: stage["name"] for stage in report["stages"]}
        print(f"Bottleneck: {names[bottleneck['stage']]} ({bottleneck['stage']})")
        for sentence in bottleneck["evidence"]:
            print(f"  - {sentence}")
    return 0


def gunicorn_argv(*, host: str, port: int, workers: int) -> list[str]:
    """The command `serve` replaces itself with: this interpreter's gunicorn, so the server
    runs in the same environment as the script."""
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        GUNICORN_CONFIG,
        WSGI_APP,
        "--bind",
        bind,
        "--workers",
        str(workers),
        "--access-logfile",
        "-",
    ]


def cmd_serve(args: argparse.Namespace) -> int:
    from django.conf import settings
    from django.core.management import call_command

    # whitenoise serves from STATIC_ROOT, which only collectstatic fills (and only creates when
    # there is a file to copy: whitenoise warns about a missing folder).
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
    call_command("collectstatic", interactive=False, verbosity=0)
    argv = gunicorn_argv(host=args.host, port=args.port, workers=args.workers)
    bind = argv[argv.index("--bind") + 1]
    print(f"Serving on http://{bind}/ with {args.workers} workers.", flush=True)
    sys.stderr.flush()
    if args.with_worker:
        return serve_with_worker(argv)
    os.execv(argv[0], argv)  # noqa: S606 - argv is built above, no shell involved
    return 0  # only reached when execv is replaced in tests


def worker_argv(*extra: str) -> list[str]:
    """`salesline worker` run by this interpreter, so it shares the server's environment."""
    return [sys.executable, "-m", "salesline.cli", "worker", *extra]


def supervised_worker_argv(
    worker_id: str, replaces: Sequence[str], extra: Sequence[str] = ()
) -> list[str]:
    """The worker `serve --with-worker` starts: with the id it chose, taking over the tasks of
    the workers it saw die."""
    replacing = [option for dead in replaces for option in ("--replaces", dead)]
    return worker_argv("--worker-id", worker_id, *replacing, *extra)


def serve_with_worker(server_argv: list[str], worker_extra: Sequence[str] = ()) -> int:
    """Run gunicorn and one `salesline worker` side by side, restarting the worker if it dies;
    salesline/core/supervisor.py says how."""
    from salesline.core.supervisor import Supervisor, configure_logging

    configure_logging()
    supervisor = Supervisor(
        server_argv,
        lambda worker_id, replaces: supervised_worker_argv(worker_id, replaces, worker_extra),
    )
    return supervisor.run()


def cmd_worker(args: argparse.Namespace) -> int:
    import logging

    from salesline.core.tasks import HEARTBEAT_INTERVAL, run_worker

    if args.stale_after < 3 * HEARTBEAT_INTERVAL:
        raise CommandFailed(
            f"--stale-after must be at least {3 * HEARTBEAT_INTERVAL:g} seconds (three "
            f"heartbeats), or live workers would look dead"
        )
    if args.verbose:
        for name in ("django_tasks_db", "django.tasks", "salesline.core.tasks"):
            logging.getLogger(name).setLevel(logging.INFO)
    queues = args.queues or ["*"]
    print(
        f"Worker on {'every queue' if queues == ['*'] else 'queues ' + ', '.join(queues)}"
        f"{' until the queue is empty' if args.once else ''}.",
        flush=True,
    )
    return run_worker(
        queue_names=queues,
        once=args.once,
        stale_after=args.stale_after,
        interval=args.interval,
        worker_id=args.worker_id,
        replaces=args.replaces or (),
    )


def cmd_schedules_run(args: argparse.Namespace) -> int:
    """Run once every schedule due now (what each worker does every minute): for cron, or to
    catch up after the workers were stopped. Exit 1 when an occurrence failed."""
    from salesline.playbooks.schedules import schedules_run_report

    report = schedules_run_report(today=args.today)
    for line in report.done:
        print(line)
    for name, count in report.ran.items():
        print(f"{name}: {count} run")
    for failure in report.failures:
        what = f" {failure.object_type} {failure.object_id}" if failure.object_type else ""
        print(
            f"{failure.schedule}{what} due {failure.due_on.isoformat()} failed: "
            f"{failure.reason} (it runs again next time)",
            file=sys.stderr,
        )
    return 1 if report.failures else 0


def _forecast_table(report: dict) -> list[str]:
    money = "{:>14,.2f}".format
    lines = [
        f"Forecast of pipeline {report['pipeline']}: {report['open_opportunities']} open "
        f"opportunities, {report['trials']:,} trials, seed {report['seed']}",
        f"{'period':<8} {'weighted':>14} {'P10':>14} {'P50':>14} {'P90':>14} {'won (P50)':>10}",
    ]
    for row in report["periods"] + report["quarters"]:
        lines.append(
            f"{row['period']:<8} {money(row['weighted'])} {money(row['p10'])} "
            f"{money(row['p50'])} {money(row['p90'])} {row['count_p50']:>10}"
        )
    buckets = report["weighted_buckets"]
    lines.append(
        "weighted, not in a month: "
        + ", ".join(f"{name} {amount:,.2f}" for name, amount in buckets.items())
    )
    return lines


def cmd_forecast(args: argparse.Namespace) -> int:
    """The Monte-Carlo forecast of a pipeline (the API's JSON with --json); --snapshot stores
    this week's snapshot now, --backfill the snapshots of past weeks, --accuracy prints past
    snapshots against what closed."""
    import json

    from salesline.accounts.services import organisation_get, system_actor
    from salesline.analytics.filters import parse_metric_filters
    from salesline.analytics.forecast_selectors import (
        FORECAST_PARAMETERS,
        forecast_accuracy,
        forecast_report,
        parse_forecast_options,
    )
    from salesline.analytics.forecast_services import (
        forecast_snapshot_backfill,
        forecast_snapshot_take,
    )

    actor = (
        member_actor(args.org, args.as_email)
        if args.as_email
        else system_actor(organisation_get(slug=args.org), "cli")
    )
    params = {"pipeline": args.pipeline}
    for name in FORECAST_PARAMETERS:
        if getattr(args, name, None) is not None:
            params[name] = str(getattr(args, name))
    options = parse_forecast_options(params)
    filters = parse_metric_filters(actor, params, handled=FORECAST_PARAMETERS)
    if args.snapshot:
        snapshot, taken = forecast_snapshot_take(
            actor=actor, pipeline_key=filters.pipeline.key, trials=options.trials, seed=options.seed
        )
        word = "Took" if taken else "Kept"
        print(f"{word} the snapshot of {snapshot.week} for pipeline {snapshot.pipeline_key}.")
        return 0
    if args.accuracy:
        rows = forecast_accuracy(actor=actor, pipeline_key=filters.pipeline.key)
        if args.json:
            print(json.dumps({"pipeline": filters.pipeline.key, "periods": rows}, indent=2))
            return 0
        print(f"{'period':<8} {'week':<9} {'P50':>14} {'actual':>14} {'in P10-P90':>10}")
        for row in rows:
            week = row["snapshot_week"] + ("*" if row["snapshot_backfilled"] else "")
            print(
                f"{row['period']:<8} {week:<9} {row['p50']:>14,.2f} "
                f"{row['actual_value']:>14,.2f} {'yes' if row['within'] else 'no':>10}"
            )
        if not rows:
            print("No past month has a snapshot taken before it began.")
        elif any(row["snapshot_backfilled"] for row in rows):
            print("* backfilled: computed later from the history as it stood that week.")
        return 0
    if args.backfill is not None:
        result = forecast_snapshot_backfill(
            actor=actor,
            pipeline_key=filters.pipeline.key,
            weeks=args.backfill,
            trials=options.trials,
            seed=options.seed,
        )
        for snapshot in result.taken:
            print(
                f"Backfilled the snapshot of {snapshot.week} (as of {snapshot.taken_at:%Y-%m-%d})."
            )
        print(
            f"{len(result.taken)} backfilled for pipeline {filters.pipeline.key}; "
            f"{result.kept} weeks kept the snapshot they had, "
            f"{result.before_history} were before the pipeline's history began."
        )
        return 0
    report = forecast_report(
        actor=actor,
        filters=filters,
        trials=options.trials,
        seed=options.seed,
        horizon=options.horizon,
        probability=options.probability,
    )
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print("\n".join(_forecast_table(report)))
    return 0


def _simulation_table(answer: dict) -> list[str]:
    from salesline.capacity.resourcing import ROLE_LABELS
    from salesline.capacity.simulation import SIMULATED_ROLES

    def figure(value: dict, scale: float = 1.0, digits: int = 1) -> str:
        return (
            f"{value['mean'] * scale:.{digits}f} "
            f"[{value['low'] * scale:.{digits}f}–{value['high'] * scale:.{digits}f}]"
        )

    lines = [
        f"{answer['weeks']} weeks, {answer['replications']} replications, seed "
        f"{answer['seed']}; means with 95 % intervals over the replications."
    ]
    for scenario in answer["scenarios"]:
        people = ", ".join(
            f"{ROLE_LABELS[role].lower()} {count}"
            for role, count in scenario["roles"].items()
            if count
        )
        lines += ["", f"== {scenario['name']} ({people or 'nobody'})"]
        lines.append(f"{'role':<26} {'utilisation %':>20} {'queue':>18} {'wait hours':>18}")
        for role in SIMULATED_ROLES:
            if role not in scenario["queue"]:
                continue
            utilisation = scenario["utilisation"].get(role)
            lines.append(
                f"{ROLE_LABELS[role]:<26} "
                f"{figure(utilisation, 100, 0) if utilisation else 'nobody':>20} "
                f"{figure(scenario['queue'][role]):>18} "
                f"{figure(scenario['waiting_hours'][role]):>18}"
            )
        lines.append(f"Meetings a week: {figure(scenario['meetings_per_week'])}")
        lines.append(f"Won deals a week: {figure(scenario['won_per_week'], 1, 2)}")
        lines.append(
            f"Constraint: {ROLE_LABELS[scenario['constraint']].lower()} "
            f"({scenario['constraint_reason']})"
        )
        for warning in scenario.get("warnings", []):
            lines.append(f"Warning [{warning['rule']}]: {warning['message']}")
    return lines


def cmd_simulate(args: argparse.Namespace) -> int:
    """Simulate a plan file's scenarios (docs/capacity.md, "The simulator")."""
    import json

    from salesline.capacity.resourcing import PlanInvalid, parse_plan
    from salesline.capacity.simulation import simulate

    document = read_plan_file(args.file)
    try:
        answer = simulate(
            parse_plan(document),
            weeks=args.weeks,
            replications=args.replications,
            seed=args.seed,
            processes=args.processes,
        )
    except PlanInvalid as invalid:
        return _error(
            f"error: '{args.file}' is not a plan the simulator can run:",
            *(f"  {key or '(the file)'}: {message}" for key, message in invalid.problems),
        )
    if args.json:
        print(json.dumps(answer, indent=2))
    else:
        print("\n".join(_simulation_table(answer)))
    return 0


def cmd_quality_rerate(args: argparse.Namespace) -> int:
    """Rate every opportunity of an organisation again (after its quality section changed)."""
    from salesline.accounts.services import organisation_get, system_actor
    from salesline.analytics.quality_services import quality_rerate

    organisation = organisation_get(slug=args.org)
    rated = quality_rerate(actor=system_actor(organisation))
    print(f"Rated {rated} opportunit{'y' if rated == 1 else 'ies'} of {organisation.slug}.")
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    from django.conf import settings

    from salesline.accounts.services import system_actor
    from salesline.records.importing.services import staged_uploads_purge
    from salesline.records.services import records_purge

    removed = records_purge(actor=system_actor(None, "purge"))
    counts = ", ".join(f"{count} {kind}" for kind, count in removed.items())
    print(
        f"Removed {sum(removed.values())} records ({counts}) deleted more than "
        f"{settings.SALESLINE_RESTORE_DAYS} days ago, with their notes and history."
    )
    staged = staged_uploads_purge()
    print(f"Removed {staged} uploaded files left unused on the import pages for over a day.")
    return 0


def cmd_secrets_reencrypt(args: argparse.Namespace) -> int:
    from salesline.core.encryption import reencrypt_all

    report = reencrypt_all()
    print(
        f"Re-encrypted {report.rewritten} stored secrets under the current SECRET_KEY; "
        f"{report.current} already were."
    )
    if report.undecryptable:
        print(
            f"{len(report.undecryptable)} cannot be decrypted with SECRET_KEY or "
            "SECRET_KEY_FALLBACKS (set them again): " + ", ".join(report.undecryptable),
            file=sys.stderr,
        )
        return 1
    return 0


def read_plan_file(path: str) -> object:
    """A plan file's mapping: JSON when the name ends in .json, else YAML (JSON is YAML too);
    "-" reads stdin. Unreadable or malformed: CommandFailed naming the file and the place."""
    import json

    import yaml

    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise CommandFailed(f"Cannot read '{path}': {reason}.") from None
    if path.lower().endswith(".json"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise CommandFailed(
                f"'{path}' is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
            ) from None
        except (ValueError, RecursionError) as exc:  # a 5,000-digit number, absurd nesting
            raise CommandFailed(f"'{path}' is refused: {exc}.") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise CommandFailed(f"'{path}' is not valid YAML: {problem}{where}.") from None
    except (ValueError, RecursionError) as exc:
        raise CommandFailed(f"'{path}' is refused: {exc}.") from None


def cmd_network_create(args: argparse.Namespace) -> int:
    from salesline.enquiries.network_services import network_create

    network = network_create(name=args.name, coordinator_email=args.coordinator, org_slug=args.org)
    print(network.slug)
    return 0


def cmd_network_add_member(args: argparse.Namespace) -> int:
    from salesline.enquiries.network_services import network_add_member

    member = network_add_member(network_slug=args.network, org_slug=args.org)
    print(f"{member.organisation.slug} is a member of {member.network.slug}")
    return 0


def cmd_network_coordinator(args: argparse.Namespace) -> int:
    from salesline.enquiries.network_services import network_set_coordinator

    network = network_set_coordinator(
        network_slug=args.network, email=args.email, org_slug=args.org
    )
    home = network.coordinator_home.slug if network.coordinator_home else "?"
    email = network.coordinator.email if network.coordinator else "?"
    print(f"{email} (of {home}) coordinates {network.slug}")
    return 0


def cmd_network_mailbox(args: argparse.Namespace) -> int:
    from salesline.accounts.services import system_actor
    from salesline.enquiries.mail_intake import mailbox_set
    from salesline.enquiries.network_services import network_by_slug

    network = network_by_slug(args.network)
    password = args.password
    if password is None:
        password = os.environ.get("SALESLINE_MAILBOX_PASSWORD")
    data = {
        "host": args.host,
        "port": args.port,
        "username": args.user,
        "password": password,
        "folder": args.folder,
        "ssl": False if args.no_ssl or args.starttls else None,
        "starttls": True if args.starttls else None,
        "enabled": False if args.disable else (True if args.enable else None),
    }
    if args.no_ssl and not args.starttls:
        data["starttls"] = False
    if args.port is None and data["ssl"] is False:
        data["port"] = 143
    mailbox = mailbox_set(
        actor=system_actor(network.organisation, "cli"), network=network, data=data
    )
    security = "SSL" if mailbox.ssl else "STARTTLS" if mailbox.starttls else "no encryption"
    state = "enabled" if mailbox.enabled else "disabled"
    print(f"{network.slug}: {mailbox} port {mailbox.port} ({security}), {state}")
    return 0


def cmd_network_fetch_mail(args: argparse.Namespace) -> int:
    from salesline.enquiries.mail_intake import mailbox_fetch
    from salesline.enquiries.models import Mailbox
    from salesline.enquiries.network_services import network_by_slug

    network = network_by_slug(args.network)
    mailbox = Mailbox.objects.filter(network=network).select_related("network").first()
    if mailbox is None:
        print(f"{network.slug} has no mailbox: set one with `salesline network mailbox`.")
        return 1
    report = mailbox_fetch(mailbox)
    print(f"{network.slug}: {report}")
    for error in report.errors:
        print(f"error: {error}", file=sys.stderr)
    return 1 if report.errors and not report.fetched else 0


def cmd_capacity_plan(args: argparse.Namespace) -> int:
    import json

    from salesline.capacity.resourcing import (
        ROLES,
        PlanInvalid,
        evaluate,
        money,
        plain_number,
        signed_money,
    )
    from salesline.capacity.simulation import check_plan

    data = read_plan_file(args.file)
    try:
        plan = check_plan(data)
    except PlanInvalid as invalid:
        return _error(
            f"error: the plan file '{args.file}' is refused (docs/capacity.md has the format):",
            *(f"  {key or '(the file)'}: {message}" for key, message in invalid.problems),
        )
    result = evaluate(plan)
    if args.json:
        print(json.dumps(result.as_json(), ensure_ascii=False, indent=2))
        return 0
    currency = plan.currency
    rows = [("role", "before", "after", "salary", "payroll before", "payroll after", "delta")]
    for row in result.economics:
        rows.append(
            (
                row.label,
                str(row.before),
                str(row.after),
                "—" if row.salary is None else f"{row.salary:,.0f}",
                f"{row.payroll_before:,.0f}",
                f"{row.payroll_after:,.0f}",
                signed_money(row.delta, "").strip(),
            )
        )
    rows.append(
        (
            "Total",
            str(sum(int(plan.before.get(role, 0)) for role in ROLES)),
            str(sum(result.roles.values())),
            "",
            f"{result.payroll_before:,.0f}",
            f"{result.payroll_after:,.0f}",
            signed_money(result.payroll_delta, "").strip(),
        )
    )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print(f"Roles and yearly payroll ({currency})")
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [
            cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)
        ]
        print("  ".join(cells).rstrip())
    print()
    print(
        "Business-development meetings a week: "
        f"{plain_number(result.meetings_before)} before, "
        f"{plain_number(result.meetings_after)} after"
    )
    print(
        f"Payroll: {money(result.payroll_before, currency)} before, "
        f"{money(result.payroll_after, currency)} after, "
        f"delta {signed_money(result.payroll_delta, currency)}"
    )
    print(f"Verdict: {result.verdict()}")
    if not result.warnings:
        print("Warnings: none")
    else:
        print("Warnings:")
        for warning in result.warnings:
            print(f"  [{warning.rule}] {warning.message}")
    return 0


# ---------------------------------------------------------------- parsing


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a port number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not between 1 and 65535")
    return port


def _positive(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of 1 or more")
    return number


def _seed(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = -1
    if number < 0:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of 0 or more")
    return number


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds above 0")
    return seconds


def _day(text: str):
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date (YYYY-MM-DD)") from None


def _worker_id(text: str) -> str:
    # WorkerHeartbeat.worker_id holds 64 characters.
    if not 0 < len(text) <= 64 or not text.isprintable() or text != text.strip():
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a worker id (1 to 64 printable characters, no outer spaces)"
        )
    return text


def _group(commands, name: str, help_text: str):
    parser = commands.add_parser(name, help=help_text, description=help_text)
    return parser.add_subparsers(dest=f"{name}_command", required=True, metavar="COMMAND")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="salesline",
        description="Salesline: a CRM that runs a sales process like a production line.",
        epilog="DATABASE_URL selects the database (default: SQLite in var/). "
        "See docs/cli.md for examples.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    init = commands.add_parser(
        "init",
        help="create or migrate the database",
        description="Create the database named by DATABASE_URL, or bring it up to date "
        "(with the cache's table when CACHES uses the database).",
    )
    init.add_argument(
        "--demo",
        action="store_true",
        help="also load the demo organisations (once) and print a login and an API token",
    )
    init.set_defaults(handler=cmd_init)

    org = _group(commands, "org", "manage organisations")
    org_create = org.add_parser(
        "create",
        help="create an organisation and print its slug",
        description="Create an organisation on a process template; prints its slug.",
    )
    org_create.add_argument("name", help="the organisation's name, e.g. 'Piql Archive'")
    org_create.add_argument(
        "--template", required=True, help="process template (see `salesline process templates`)"
    )
    org_create.add_argument(
        "--phone-region",
        default="",
        metavar="CC",
        help="country of phone numbers written without +country code, e.g. GB "
        "(default: none, every number needs its +country code)",
    )
    org_create.set_defaults(handler=cmd_org_create)
    org_update = org.add_parser(
        "update",
        help="change an organisation's settings",
        description="Change an organisation's settings (audited); the options left out stay as "
        "they are. Numbers already stored keep their country code; the new phone region reads "
        "the numbers written from now on.",
    )
    org_update.add_argument("--org", required=True, metavar="SLUG", help="organisation slug")
    org_update.add_argument(
        "--phone-region",
        metavar="CC",
        help="country of phone numbers written without +country code, e.g. GB; '' for none",
    )
    org_update.add_argument(
        "--country",
        metavar="CC",
        help="country whose public holidays are not working days for playbook due dates, "
        "e.g. NO; '' for the phone region's",
    )
    org_update.add_argument(
        "--booking-url",
        metavar="URL",
        help="meeting-booking link, {{ links.booking }} in canned messages (https://...); "
        "'' for none",
    )
    org_update.add_argument(
        "--from-email",
        metavar="ADDRESS",
        help="default From address of canned messages, e.g. partnerships@example.com; "
        "'' for the server's",
    )
    org_update.set_defaults(handler=cmd_org_update, usage_error=org_update.error)

    user = _group(commands, "user", "manage users")
    user_create = user.add_parser(
        "create",
        help="create a user or give an existing one a role",
        description="Create the user if new and give them a role in the organisation. "
        "With --password on an existing user, the password is changed.",
    )
    user_create.add_argument("email")
    user_create.add_argument("--org", required=True, metavar="SLUG", help="organisation slug")
    user_create.add_argument(
        "--role", required=True, help="e.g. admin, salesperson, 'sales coordinator'"
    )
    user_create.add_argument(
        "--password", help="the login password; '-' reads it from the first line of stdin"
    )
    user_create.set_defaults(handler=cmd_user_create)

    token = _group(commands, "token", "manage API tokens")
    token_create = token.add_parser(
        "create",
        help="create an API token and print it",
        description="Create an API token for a member of an organisation. The token is "
        "printed once; only its hash is kept.",
    )
    token_create.add_argument("email")
    token_create.add_argument("--org", required=True, metavar="SLUG", help="organisation slug")
    token_create.add_argument("--name", default="", help="a label to recognise the token by")
    token_create.set_defaults(handler=cmd_token_create)

    process = _group(commands, "process", "process definitions (pipelines, gates, fields)")
    templates = process.add_parser(
        "templates",
        help="list the built-in templates",
        description="List the built-in process templates, one per line.",
    )
    templates.set_defaults(handler=cmd_process_templates)
    load = process.add_parser(
        "load",
        help="validate and load a process definition",
        description="Validate a process definition (a YAML file or a template name) and put "
        "it in force. Every problem is reported, with its line.",
    )
    load.add_argument("source", metavar="FILE_OR_TEMPLATE")
    load.add_argument("--org", required=True, metavar="SLUG", help="organisation slug")
    load.add_argument(
        "--check",
        action="store_true",
        help="only validate, including whether data would be lost; load nothing",
    )
    load.set_defaults(handler=cmd_process_load)
    export = process.add_parser(
        "export",
        help="write the definition in force as YAML",
        description="Write the YAML source of the organisation's definition in force.",
    )
    export.add_argument("--org", required=True, metavar="SLUG", help="organisation slug")
    export.add_argument("file", nargs="?", metavar="FILE", help="where to write (default: stdout)")
    export.set_defaults(handler=cmd_process_export)

    serve = commands.add_parser(
        "serve",
        help="serve the web app and API with gunicorn",
        description="Collect static files, then serve config.wsgi with gunicorn.",
    )
    serve.add_argument("--host", default=DEFAULT_HOST, help=f"default {DEFAULT_HOST}")
    serve.add_argument("--port", type=_port, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")
    serve.add_argument(
        "--workers", type=_positive, default=DEFAULT_WORKERS, help=f"default {DEFAULT_WORKERS}"
    )
    serve.add_argument(
        "--with-worker",
        action="store_true",
        help="also run one background worker (`salesline worker`), restarted if it dies, "
        "and stop it on exit",
    )
    serve.set_defaults(handler=cmd_serve)

    worker = commands.add_parser(
        "worker",
        help="run background jobs (playbooks, e-mail, imports) and the schedules until stopped",
        description="Run the background jobs queued in the database — playbooks reacting to "
        "events, e-mail delivery, imports, search index upkeep — and, every minute, the "
        "schedules (invoicing, renewal tickler, check-ins, date triggers). Any number of workers, "
        "on any machines, can share one PostgreSQL queue. Puts tasks of dead workers back in "
        "the queue (at start and every 30 seconds). SIGTERM or Ctrl+C lets the running task "
        "finish, then exits 0.",
    )
    worker.add_argument(
        "--queue",
        dest="queues",
        action="append",
        metavar="NAME",
        help="run only this queue's tasks (repeatable; default: every queue)",
    )
    worker.add_argument("--once", action="store_true", help="exit 0 once no task is ready to run")
    worker.add_argument(
        "--stale-after",
        type=_seconds,
        default=60.0,
        metavar="SECONDS",
        help="a worker silent this long is dead; its tasks run again (default 60)",
    )
    worker.add_argument(
        "--interval",
        type=_seconds,
        default=1.0,
        metavar="SECONDS",
        help="how often an idle worker looks for tasks (default 1)",
    )
    worker.add_argument(
        "--worker-id",
        type=_worker_id,
        metavar="ID",
        help="this worker's id in heartbeats and tasks; unique (default: host-pid-random)",
    )
    worker.add_argument(
        "--replaces",
        action="append",
        type=_worker_id,
        metavar="ID",
        help="a worker known to have exited: its running tasks are taken over at once "
        "(repeatable; `serve --with-worker` passes it on restarts)",
    )
    worker.add_argument("--verbose", action="store_true", help="log every task started and ended")
    worker.set_defaults(handler=cmd_worker)

    importer = commands.add_parser(
        "import",
        help="import leads, people, companies (CSV, XLSX or vCard) or stage history; or undo "
        "an import",
        description="Import a CSV, XLSX or vCard (.vcf) file: `salesline import KIND FILE ...` "
        "(KIND: leads, people, companies, stage-history). Columns are matched to fields by "
        "their headers (override with --mapping). `salesline import undo IMPORT_ID ...` "
        "undoes an import.",
    )
    importer.add_argument(
        "kind",
        choices=["leads", "people", "companies", "stage-history", "undo"],
        metavar="KIND|undo",
    )
    importer.add_argument("target", metavar="FILE|IMPORT_ID")
    importer.add_argument("--org", required=True, metavar="SLUG", help="organisation slug")
    importer.add_argument(
        "--as", dest="as_email", required=True, metavar="EMAIL", help="the member importing"
    )
    importer.add_argument("--dry-run", action="store_true", help="report only; write nothing")
    importer.add_argument(
        "--region", help="country for phone numbers without +country code, e.g. GB"
    )
    importer.add_argument(
        "--mapping", metavar="FILE.json", help='{"Column header": "field" or null, ...}'
    )
    importer.add_argument(
        "--set",
        action="append",
        metavar="FIELD=VALUE",
        help='one value for every row of a field no column gives, e.g. --set source="Expo 2026" '
        "(repeatable)",
    )
    importer.add_argument(
        "--on-duplicate",
        choices=["skip", "update", "overwrite"],
        default="skip",
        help="skip (default), update empty fields, or overwrite",
    )
    importer.add_argument("--json", action="store_true", help="print the report as JSON")
    importer.set_defaults(handler=cmd_import)

    exporter = commands.add_parser(
        "export",
        help="export companies, people, leads or opportunities to CSV or XLSX",
        description="Write a list to a file: `salesline export KIND FILE --org SLUG --as EMAIL "
        "[filters]` (KIND: companies, people, leads, opportunities). The filters are the API "
        "list's, as --filter KEY=VALUE or --KEY VALUE: --source Website, --q ann, "
        "--ordering -created_at, --cf_tier gold. XLSX when FILE ends in .xlsx, else CSV.",
        allow_abbrev=False,
    )
    exporter.add_argument("kind", metavar="KIND", help="companies, people, leads, opportunities")
    exporter.add_argument("file", metavar="FILE", help="where to write")
    exporter.add_argument("--org", required=True, metavar="SLUG", help="organisation slug")
    exporter.add_argument(
        "--as", dest="as_email", required=True, metavar="EMAIL", help="the member exporting"
    )
    exporter.add_argument(
        "--format", choices=["csv", "xlsx"], help="default: xlsx for a .xlsx FILE, else csv"
    )
    exporter.add_argument(
        "--filter", action="append", default=[], metavar="KEY=VALUE", help="a list filter"
    )
    exporter.set_defaults(handler=cmd_export, takes_filters=True)

    metrics = commands.add_parser(
        "metrics",
        help="flow metrics of a pipeline for a period: a table, or the API's JSON",
        description="Flow metrics of a pipeline for a period (docs/metrics.md): `salesline "
        "metrics --org SLUG --pipeline KEY [--from D] [--to D] [--json]`, with the opportunity "
        "list's filters as --filter KEY=VALUE or --KEY VALUE (--owner_id 3, --cf_tier gold).",
        allow_abbrev=False,
    )
    metrics.add_argument("--org", required=True, metavar="SLUG", help="organisation slug")
    metrics.add_argument("--pipeline", metavar="KEY", help="default: the first pipeline")
    metrics.add_argument(
        "--from", dest="date_from", metavar="YYYY-MM-DD", help="default: 89 days before --to"
    )
    metrics.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD", help="default: today")
    metrics.add_argument(
        "--as",
        dest="as_email",
        metavar="EMAIL",
        help="measure as this member (default: the organisation as a whole)",
    )
    metrics.add_argument(
        "--filter", action="append", default=[], metavar="KEY=VALUE", help="a list filter"
    )
    metrics.add_argument("--json", action="store_true", help="print the API's JSON")
    metrics.set_defaults(handler=cmd_metrics, takes_filters=True)

    schedules = _group(commands, "schedules", "schedules: invoicing, renewal tickler, check-ins")
    schedules_run = schedules.add_parser(
        "run",
        help="run once every schedule that is due now",
        description="Run once every schedule due now — what every worker does each minute — "
        "and print what it did: for cron, or to catch up after the workers were stopped. "
        "Safe beside running workers: each occurrence runs once. Exits 1 if one failed "
        "(it runs again next time).",
    )
    schedules_run.add_argument(
        "--today", type=_day, metavar="YYYY-MM-DD", help="run as of this date (default: today)"
    )
    schedules_run.set_defaults(handler=cmd_schedules_run)

    forecast = commands.add_parser(
        "forecast",
        help="Monte-Carlo forecast of a pipeline (P10/P50/P90 per month and quarter)",
        description="Print the forecast of a pipeline's open opportunities: the weighted "
        "pipeline and P10/P50/P90 of the value and count won per month and quarter "
        "(docs/metrics.md). --json prints the API's JSON. The same --seed gives the same "
        "numbers.",
    )
    forecast.add_argument("--org", required=True, metavar="SLUG")
    forecast.add_argument("--pipeline", required=True, metavar="KEY")
    forecast.add_argument("--trials", type=_positive, metavar="N", help="default 10000")
    forecast.add_argument("--seed", type=int, metavar="S", help="default: chosen and printed")
    forecast.add_argument("--horizon", type=_positive, metavar="MONTHS", help="default 6")
    forecast.add_argument(
        "--probability", choices=("configured", "calibrated"), help="for the weighted pipeline"
    )
    forecast.add_argument("--as", dest="as_email", metavar="EMAIL", help="act as this member")
    forecast.add_argument("--json", action="store_true", help="print the API's JSON")
    forecast.add_argument(
        "--snapshot", action="store_true", help="store this week's snapshot now (once a week)"
    )
    forecast.add_argument(
        "--backfill",
        type=_positive,
        metavar="WEEKS",
        help="store the snapshots of the WEEKS weeks before this one, as the history stood then",
    )
    forecast.add_argument(
        "--accuracy", action="store_true", help="past snapshots against what closed won"
    )
    forecast.set_defaults(handler=cmd_forecast)

    simulate = commands.add_parser(
        "simulate",
        help="simulate a capacity plan's scenarios (discrete-event, with confidence intervals)",
        description="Simulate the sales model of a plan file (YAML or JSON; its simulation: and "
        "scenarios: sections, docs/capacity.md) and print each scenario's utilisation per role, "
        "queues, meetings and won deals a week and its constraint. --json prints the API's "
        "JSON. The same --seed gives the same numbers.",
    )
    simulate.add_argument("file", metavar="FILE", help="the plan file")
    simulate.add_argument("--weeks", type=_positive, default=52, metavar="N", help="default 52")
    simulate.add_argument(
        "--replications", type=_positive, default=10, metavar="R", help="default 10"
    )
    simulate.add_argument("--seed", type=_seed, default=0, metavar="S", help="default 0")
    simulate.add_argument(
        "--processes", type=_positive, metavar="P", help="parallel processes (default: one a CPU)"
    )
    simulate.add_argument("--json", action="store_true", help="print the API's JSON")
    simulate.set_defaults(handler=cmd_simulate)

    quality = _group(commands, "quality", "the opportunity quality rating")
    rerate = quality.add_parser(
        "rerate",
        help="rate every opportunity of an organisation again",
        description="Rate every live opportunity of the organisation again and store the "
        "ratings lists sort by: after a change of the definition's quality section (loading "
        "one does it in the background already), or to check the worker's work.",
    )
    rerate.add_argument("--org", required=True, metavar="SLUG", help="organisation slug")
    rerate.set_defaults(handler=cmd_quality_rerate)

    capacity = _group(commands, "capacity", "the capacity planner (docs/capacity.md)")
    capacity_plan = capacity.add_parser(
        "plan",
        help="resource a sales function from a plan file",
        description="Read a plan file (YAML, or JSON when FILE ends in .json; - reads stdin; "
        "the format is in docs/capacity.md) and print the roles, the business-development "
        "meetings a week before and after, the payroll before, after and its delta, the "
        "verdict and the warnings. --json prints the API's answer. A key not in the format "
        "is refused, naming it (exit 1). Needs no database.",
    )
    capacity_plan.add_argument("file", metavar="FILE")
    capacity_plan.add_argument("--json", action="store_true", help="print the API's JSON")
    capacity_plan.set_defaults(handler=cmd_capacity_plan)

    network = _group(commands, "network", "networks of organisations (docs/networks.md)")
    network_create = network.add_parser(
        "create",
        help="create a network; prints its slug",
        description="Create a network whose first member (and the coordinator's home) is the "
        "organisation given, and print the network's slug.",
    )
    network_create.add_argument("name", metavar="NAME")
    network_create.add_argument("--coordinator", required=True, metavar="EMAIL")
    network_create.add_argument("--org", required=True, metavar="SLUG")
    network_create.set_defaults(handler=cmd_network_create)
    network_add = network.add_parser(
        "add-member",
        help="add a member organisation directly (bootstrap; audited)",
        description="Add an organisation to a network without a vote (the bootstrap).",
    )
    network_add.add_argument("network", metavar="NETWORK")
    network_add.add_argument("--org", required=True, metavar="SLUG")
    network_add.set_defaults(handler=cmd_network_add_member)
    network_coordinator = network.add_parser(
        "coordinator",
        help="make someone the network's coordinator",
        description="Make EMAIL, acting from the member organisation SLUG, the network's "
        "coordinator (added to that organisation as a salesperson when not yet a user there).",
    )
    network_coordinator.add_argument("network", metavar="NETWORK")
    network_coordinator.add_argument("--email", required=True, metavar="EMAIL")
    network_coordinator.add_argument("--org", required=True, metavar="SLUG")
    network_coordinator.set_defaults(handler=cmd_network_coordinator)
    network_mailbox = network.add_parser(
        "mailbox",
        help="set the IMAP mailbox the worker fetches the network's enquiries from",
        description="Create or change the network's mailbox (docs/enquiries.md). Options not "
        "given keep their value; the password may come from SALESLINE_MAILBOX_PASSWORD.",
    )
    network_mailbox.add_argument("network", metavar="NETWORK")
    network_mailbox.add_argument("--host")
    network_mailbox.add_argument("--port", type=int, help="default 993 (143 with --no-ssl)")
    network_mailbox.add_argument("--user")
    network_mailbox.add_argument("--password")
    network_mailbox.add_argument("--folder", help="default INBOX")
    network_mailbox.add_argument("--no-ssl", action="store_true", help="plain IMAP (loopback)")
    network_mailbox.add_argument("--starttls", action="store_true", help="IMAP with STARTTLS")
    network_mailbox.add_argument("--enable", action="store_true")
    network_mailbox.add_argument("--disable", action="store_true")
    network_mailbox.set_defaults(handler=cmd_network_mailbox)
    network_fetch = network.add_parser(
        "fetch-mail",
        help="fetch the network's unseen mail now and print what became of it",
        description="Fetch the network's mailbox once (the worker does it every minute).",
    )
    network_fetch.add_argument("network", metavar="NETWORK")
    network_fetch.set_defaults(handler=cmd_network_fetch_mail)
    purge = commands.add_parser(
        "purge",
        help="remove soft-deleted records past the restore window",
        description="Remove records deleted longer ago than the restore window "
        "(SALESLINE_RESTORE_DAYS) and print how many rows were removed.",
    )
    purge.set_defaults(handler=cmd_purge)
    secrets = _group(commands, "secrets", "the secrets kept encrypted in the database")
    secrets_reencrypt = secrets.add_parser(
        "reencrypt",
        help="encrypt every stored secret again under the current SECRET_KEY",
        description="After rotating SECRET_KEY (the old key in SECRET_KEY_FALLBACKS), encrypt "
        "every stored secret (mailbox passwords) again under the new key, so the old key can "
        "be dropped from the fallbacks. Exits 1 and names those no key decrypts.",
    )
    secrets_reencrypt.set_defaults(handler=cmd_secrets_reencrypt)
    return parser


# ---------------------------------------------------------------- entry point


def _error(*lines: str) -> int:
    for line in lines:
        print(line, file=sys.stderr)
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    # `export` takes the list's filters as options of their own, which argparse leaves over.
    args, left_over = parser.parse_known_args(argv)  # exits 2 on usage errors, 0 after --help
    if left_over and not getattr(args, "takes_filters", False):
        parser.error(f"unrecognized arguments: {' '.join(left_over)}")
    args.filters_left_over = left_over
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

    import django
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import CommandError
    from django.db import DatabaseError

    from salesline.core.errors import DomainError

    try:
        django.setup()
    except (ImproperlyConfigured, ImportError, ValueError) as exc:
        # A bad DATABASE_URL or settings module surfaces here.
        return _error(f"error: configuration: {exc}")
    try:
        return args.handler(args)
    except DomainError as exc:
        problems = [problem.msg for problem in exc.problems]
        message = str(exc)
        if problems and message == "; ".join(problems):
            return _error(*(f"error: {msg}" for msg in problems))
        return _error(f"error: {message}", *problems)
    except (CommandFailed, CommandError) as exc:
        return _error(f"error: {exc}")
    except DatabaseError as exc:
        return _error(
            f"error: database: {str(exc).strip()}",
            "Is DATABASE_URL right, and has `salesline init` been run?",
        )
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
