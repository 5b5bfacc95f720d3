"""Stage-move benchmark, in an organisation holding N opportunities (capped at 100,000).

(a) Server time of a gated move through the API, in-process (Django's test client: the whole
    request through middleware, bearer-token authentication, the ninja route, the service, the
    gates, the database and the serialiser; no network, no web server):
    `POST /api/v1/opportunities/{id}/move` from Qualify into Develop, 500 distinct
    opportunities, the request supplying what Develop's gate asks for (the business case and the
    ticked "use-case verified" item): the gate is evaluated and passes (200). Then the same move
    without them, on 500 other opportunities: refused, 422 listing both unmet criteria.

(b) 10,000 moves through the service (`opportunity_move`, in-process) with one no-op handler
    registered for the "stage_entered" event, against the same 10,000 moves without it:
    1,000 opportunities moved Develop -> Propose (its gate: the "proposal sent" item, supplied)
    and back, 2,000 moves a round, 5 rounds each way, interleaved (ABBA) so machine noise hits
    both. Needs the event seam `salesline.core.events`; without it the ratio is "n/a".

    python -m bench.moves --database-url URL [--rows N] [--out FILE]
"""

import argparse
import contextlib
import importlib
import inspect
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path

from bench.api_lists import setup_django

BENCH_ORG = "Bench Moves"
MAX_ROWS = 100_000
WARM_UP = 10
EVENT_KIND = "stage_entered"
BUSINESS_CASE = "Replaces three legacy archives; saves two FTE a year in retrieval."


def _module(name: str, needs: str):
    """salesline.pipeline.<name>, or where a refactor moved `needs` (salesline.process.<name>)."""
    for package in ("salesline.pipeline", "salesline.process"):
        try:
            module = importlib.import_module(f"{package}.{name}")
        except ImportError:
            continue
        if hasattr(module, needs):
            return module
    raise ImportError(f"no {name} module with {needs}")


def _organisation_create(**kwargs):
    for name in ("salesline.process.services", "salesline.accounts.services"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if hasattr(module, "organisation_create"):
            return module.organisation_create(**kwargs)
    raise ImportError("no organisation_create")


def ensure_data(rows: int):
    """The organisation, its sellers, and exactly `rows` generated opportunities."""
    from bench.web_pages import generate_opportunities
    from salesline.accounts import services as accounts
    from salesline.accounts.models import Organisation

    Opportunity = _module("models", "Opportunity").Opportunity
    organisation = Organisation.objects.filter(name=BENCH_ORG).first()
    if organisation is None:
        organisation = _organisation_create(
            name=BENCH_ORG, template="business-development", label="bench"
        )
    owners = [
        accounts.user_create(
            email=f"mover{i}@bench.example",
            actor=accounts.system_actor(organisation),
            role="salesperson",
        )
        for i in range(5)
    ]
    have = Opportunity.objects.filter(organisation=organisation).count()
    generation: dict = {"rows": 0}
    if have != rows:
        print(f"generating {rows:,} opportunities ...", file=sys.stderr, flush=True)
        Opportunity.objects.filter(organisation=organisation).delete()
        generation = generate_opportunities(organisation, owners, rows)
    return organisation, owners, generation


def pick_subjects(organisation, count: int) -> list[int]:
    """`count` opportunity ids, open ones first (those are the ones people move), by id."""
    Opportunity = _module("models", "Opportunity").Opportunity
    mine = Opportunity.objects.filter(organisation=organisation, deleted_at=None)
    ids = list(mine.filter(status="open").order_by("id").values_list("id", flat=True)[:count])
    if len(ids) < count:
        ids += list(
            mine.exclude(status="open")
            .order_by("id")
            .values_list("id", flat=True)[: count - len(ids)]
        )
    if len(ids) < count:
        raise SystemExit(f"need {count} opportunities, the organisation holds {len(ids)}")
    return ids


def reset(organisation, ids: list[int], stage_key: str) -> None:
    """Put the opportunities, open, in `stage_key` without ticked items and, unless in Develop,
    without a business case (not timed, so every run measures the same moves)."""
    from django.utils import timezone

    from salesline.core.models import AuditEvent

    models = _module("models", "Opportunity")
    stage = models.Stage.objects.get(
        pipeline__organisation=organisation,
        pipeline__key="business-development",
        key=stage_key,
    )
    # Earlier runs' history of these opportunities goes too: every run meets the same tables.
    models.StageChange.objects.filter(opportunity_id__in=ids).delete()
    AuditEvent.objects.filter(
        organisation=organisation, object_id__in=[str(i) for i in ids]
    ).delete()
    models.ChecklistTick.objects.filter(opportunity_id__in=ids).delete()
    models.Opportunity.objects.filter(pk__in=ids).update(
        pipeline=stage.pipeline,
        stage=stage,
        status="open",
        closed_at=None,
        close_reason="",
        business_case=BUSINESS_CASE if stage_key == "develop" else "",
        stage_entered_at=timezone.now(),
    )


def percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {
        "p50_ms": statistics.median(ordered),
        "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        "max_ms": ordered[-1],
        "requests": len(ordered),
    }


# ---------------------------------------------------------------- (a) through the API


def api_moves(token: str, ids: list[int], body: dict, expected: int) -> dict:
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    payload = json.dumps(body)
    samples: list[float] = []
    statuses: dict[int, int] = {}
    first_detail = None
    for index, record_id in enumerate(ids):
        started = time.perf_counter()
        response = client.post(
            f"/api/v1/opportunities/{record_id}/move", payload, content_type="application/json"
        )
        elapsed = (time.perf_counter() - started) * 1000
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        if response.status_code != expected:
            raise SystemExit(
                f"move of #{record_id} answered {response.status_code}, not {expected}: "
                f"{response.content[:500]!r}"
            )
        if first_detail is None and expected != 200:
            first_detail = response.json().get("detail")
        if index >= WARM_UP:
            samples.append(elapsed)
    return {**percentiles(samples), "statuses": statuses, "refusal": first_detail}


def api_scenarios(organisation, user, ids: list[int], moves: int) -> list[dict]:
    from django.conf import settings
    from django.test.utils import setup_test_environment

    from salesline.accounts import services as accounts

    models = _module("models", "Opportunity")
    setup_test_environment()
    settings.ALLOWED_HOSTS = ["testserver"]
    # Not a warning line on stderr for each of the 500 refusals (422) on purpose.
    logging.getLogger("django.request").setLevel(logging.ERROR)
    _, token = accounts.token_create(
        user=user, actor=accounts.system_actor(organisation), name="bench moves"
    )
    passing, refused = ids[: WARM_UP + moves], ids[WARM_UP + moves :]
    reset(organisation, ids, "qualify")
    changes_before = models.StageChange.objects.filter(opportunity_id__in=passing).count()
    gated = {
        "stage": "develop",
        "checks": ["use_case_verified"],
        "fields": {"business_case": BUSINESS_CASE},
    }
    results = []
    row = api_moves(token, passing, gated, 200)
    moved = models.Opportunity.objects.filter(pk__in=passing, stage__key="develop").count()
    ticks = models.ChecklistTick.objects.filter(
        opportunity_id__in=passing, item="use_case_verified"
    ).count()
    changes = models.StageChange.objects.filter(opportunity_id__in=passing).count()
    if moved != len(passing) or ticks != len(passing) or changes - changes_before != len(passing):
        raise SystemExit(f"gated moves did not all land: {moved} moved, {ticks} ticks")
    results.append({"name": f"move qualify→develop, gate passed ({moves})", "body": gated, **row})
    row = api_moves(token, refused, {"stage": "develop"}, 422)
    still = models.Opportunity.objects.filter(pk__in=refused, stage__key="qualify").count()
    if still != len(refused):
        raise SystemExit("a refused move changed an opportunity")
    results.append(
        {
            "name": f"move qualify→develop, refused 422 ({moves})",
            "body": {"stage": "develop"},
            **row,
        }
    )
    for result in results:
        print(
            f"{result['name']:<44} p50 {result['p50_ms']:7.2f} ms  p99 {result['p99_ms']:7.2f} ms",
            file=sys.stderr,
            flush=True,
        )
    return results


# ---------------------------------------------------------------- (b) with an event handler


def event_seam():
    try:
        return importlib.import_module("salesline.core.events")
    except ImportError:
        return None


def _call_with_name(function, kind: str, handler, name: str):
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        parameters = {}
    if "name" in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        return function(kind, handler, name=name)
    return function(kind, handler)


def _registry_snapshot(events) -> dict:
    """The module's mutable registries (dicts, lists, sets at module level), copied."""
    snapshot = {}
    for attr, value in vars(events).items():
        if attr.startswith("__") or inspect.ismodule(value):
            continue
        if isinstance(value, dict):
            snapshot[attr] = (value, {k: _shallow(v) for k, v in value.items()})
        elif isinstance(value, list | set):
            snapshot[attr] = (value, _shallow(value))
    return snapshot


def _shallow(value):
    return type(value)(value) if isinstance(value, list | set | dict) else value


def _restore(snapshot: dict) -> None:
    for original, copy in snapshot.values():
        original.clear()
        if isinstance(original, dict):
            original.update(copy)
        elif isinstance(original, list):
            original.extend(copy)
        else:
            original.update(copy)


def registration(events, kind: str, handler, name: str):
    """A context manager that keeps `handler` registered for `kind` while open, from whatever the
    seam offers: its own temporary registration (for tests), else register() then unregister(),
    else register() then the registry put back as it was. Returns (context manager, how)."""
    for attr in (
        "registered",
        "temporarily_registered",
        "temporary_handler",
        "handler_registered",
        "registering",
        "temporarily",
        "override",
        "listening",
        "subscribed",
    ):
        function = getattr(events, attr, None)
        if callable(function):
            try:
                manager = _call_with_name(function, kind, handler, name)
            except TypeError:
                continue
            if hasattr(manager, "__enter__"):
                return manager, f"events.{attr}()"
    register = getattr(events, "register", None) or getattr(events, "subscribe", None)
    if not callable(register):
        raise LookupError("salesline.core.events has no register()")

    @contextlib.contextmanager
    def manual():
        snapshot = _registry_snapshot(events)
        registered = _call_with_name(register, kind, handler, name)
        try:
            yield registered
        finally:
            for attr in ("unregister", "deregister", "unsubscribe", "remove"):
                undo = getattr(events, attr, None)
                if callable(undo):
                    try:
                        undo(kind, handler)
                        break
                    except TypeError:
                        try:
                            undo(name)
                            break
                        except TypeError:
                            continue
            else:
                _restore(snapshot)

    return manual(), f"events.{register.__name__}() and back"


def move_rounds(organisation, user, pool: list[int], rounds: int) -> dict:
    from salesline.accounts.services import actor_for

    services = _module("services", "opportunity_move")
    actor = actor_for(user, organisation)
    events = event_seam()
    reset(organisation, pool, "develop")
    calls = 0

    def noop(*args, **kwargs) -> None:
        nonlocal calls
        calls += 1

    def one_round() -> float:
        started = time.perf_counter()
        for record_id in pool:
            services.opportunity_move(
                actor=actor, opportunity_id=record_id, stage="propose", checks=["proposal_sent"]
            )
            services.opportunity_move(actor=actor, opportunity_id=record_id, stage="develop")
        return time.perf_counter() - started

    one_round()  # warm-up; ticks "proposal sent" on every opportunity of the pool
    per_round = 2 * len(pool)
    result: dict = {
        "moves_per_round": per_round,
        "rounds": rounds,
        "moves_each_way": rounds * per_round,
        "event_kind": EVENT_KIND,
    }
    if events is None:
        seconds = [one_round() for _ in range(rounds)]
        result |= {
            "seam": None,
            "without_seconds": seconds,
            "without_moves_per_second": rounds * per_round / sum(seconds),
        }
        return result
    try:
        manager, how = registration(events, EVENT_KIND, noop, "bench.noop")
        with manager:
            pass
    except Exception as exc:  # noqa: BLE001 - an API this bench does not know: say so
        result["seam"] = f"not usable: {type(exc).__name__}: {exc}"
        return result

    def with_handler() -> float:
        manager, _ = registration(events, EVENT_KIND, noop, "bench.noop")
        with manager:
            return one_round()

    with_handler()  # warm-up of the handler's path
    calls = 0
    without, with_ = [], []
    for index in range(rounds):
        order = (one_round, with_handler) if index % 2 == 0 else (with_handler, one_round)
        for run in order:
            (without if run is one_round else with_).append(run())
    result |= {
        "seam": how,
        "without_seconds": without,
        "with_seconds": with_,
        "without_moves_per_second": rounds * per_round / sum(without),
        "with_moves_per_second": rounds * per_round / sum(with_),
        "ratio_time_with_to_without": sum(with_) / sum(without),
        "ratio_median_round": statistics.median(with_) / statistics.median(without),
        "handler_calls": calls,
    }
    print(
        f"moves without handler {result['without_moves_per_second']:,.0f}/s, with "
        f"{result['with_moves_per_second']:,.0f}/s, ratio {result['ratio_time_with_to_without']:.3f}"
        f" (handler called {calls:,} times)",
        file=sys.stderr,
        flush=True,
    )
    return result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--rows", type=int, default=MAX_ROWS, help=f"capped at {MAX_ROWS:,}")
    parser.add_argument("--api-moves", type=int, default=500, help="per API scenario")
    parser.add_argument("--pool", type=int, default=1000, help="opportunities moved back and forth")
    parser.add_argument("--rounds", type=int, default=5, help="rounds each way")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    setup_django(args.database_url)
    from django.db import connection

    api_subjects = 2 * (WARM_UP + args.api_moves)
    rows = max(min(args.rows, MAX_ROWS), api_subjects + args.pool)
    organisation, owners, generation = ensure_data(rows)
    ids = pick_subjects(organisation, api_subjects + args.pool)
    scenarios = api_scenarios(organisation, owners[0], ids[:api_subjects], args.api_moves)
    handler = move_rounds(organisation, owners[0], ids[api_subjects:], args.rounds)
    Path(args.out).write_text(
        json.dumps(
            {
                "database": connection.vendor,
                "load_average_at_end": os.getloadavg(),
                "rows": rows,
                "generation": generation,
                "scenarios": scenarios,
                "event_handler": handler,
            },
            indent=2,
            default=str,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
