"""Stage-history import benchmark: a file of N rows (4 per opportunity: identify, qualify,
develop, then won or lost) for N/4 generated opportunities, imported as a dry run and then for
real, inline as the CLI runs it (one process).

    python -m bench.history_import --database-url URL [--rows 10000]
"""

import argparse
import datetime as dt
import json
import tempfile
import time
from pathlib import Path

from bench.api_lists import setup_django


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    setup_django(args.database_url)

    from bench.web_pages import generate_opportunities
    from salesline.accounts import services as accounts
    from salesline.pipeline.models import Opportunity
    from salesline.process.services import organisation_create
    from salesline.records.importing.services import import_start

    organisation = organisation_create(
        name=f"Bench History {time.time_ns()}", template="business-development"
    )
    admin = accounts.user_create(
        email=f"admin{organisation.pk}@bench.example",
        actor=accounts.system_actor(organisation),
        role="admin",
    )
    actor = accounts.actor_for(admin, organisation)
    generate_opportunities(organisation, [admin], args.rows // 4)
    ids = list(Opportunity.objects.filter(organisation=organisation).values_list("pk", flat=True))
    start = dt.datetime(2022, 1, 3, 9, tzinfo=dt.UTC)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "history.csv"
        with path.open("w") as out:
            out.write("opportunity,to_stage,at,actor\n")
            for n, pk in enumerate(ids):
                at = start + dt.timedelta(hours=n)
                for step, stage in enumerate(
                    ("identify", "qualify", "develop", "won" if n % 3 else "lost")
                ):
                    when = at + dt.timedelta(days=9 * step)
                    out.write(f"{pk},{stage},{when.isoformat()},{admin.email}\n")
        figures = {"rows": len(ids) * 4, "opportunities": len(ids)}
        for dry_run in (True, False):
            began = time.perf_counter()
            job = import_start(
                actor=actor,
                kind="stage-history",
                file=path,
                file_name="history.csv",
                dry_run=dry_run,
                inline=True,
            ).job
            seconds = time.perf_counter() - began
            if job.created != len(ids) * 4 or job.rejected:
                raise SystemExit(f"expected every row written: {job.created}, {job.rejected}")
            figures["dry_run_seconds" if dry_run else "import_seconds"] = round(seconds, 2)
            figures["timings" if not dry_run else "dry_run_timings"] = {
                k: round(v, 2) for k, v in job.timings.items()
            }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
