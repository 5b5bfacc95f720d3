"""Hostile import files: how long a preview takes and its peak memory, each file in a fresh
process (peak RSS from /proc, so one file's peak never hides another's). The files are the
tests' own (tests/records/hostile.py). Also reads a generated 200,000-row XLSX to show the
streaming reader's memory on an honest large file.

    python -m bench.hostile_files --database-url URL [--out FILE]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.api_lists import ROOT, setup_django

XLSX_ROWS = 200_000
ORG_NAME = "Bench Hostile"


def organisation() -> None:
    from salesline.accounts.models import Organisation
    from salesline.process import services as process_services

    if not Organisation.objects.filter(name=ORG_NAME).exists():
        process_services.organisation_create(name=ORG_NAME, template="business-development")


def honest_xlsx(path: Path) -> None:
    """A 200,000-row, 10-column XLSX (openpyxl writes inline strings and numbers)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append([f"Column {i}" for i in range(10)])
    for row in range(XLSX_ROWS):
        sheet.append([f"Person {row}", f"p{row}@example.com", row * 7, "Nordics", "x" * 30] * 2)
    book.save(path)


def build(folder: Path) -> dict[str, Path]:
    from tests.records import hostile

    files = {}
    for case, name, make, _ in hostile.REFUSED:
        files[case] = folder / f"{case}-{name}"
        files[case].write_bytes(make())
    files["blanks"] = folder / "blanks.xlsx"
    files["blanks"].write_bytes(hostile.blanks())
    files["huge-dimension"] = folder / "huge-dimension.xlsx"
    files["huge-dimension"].write_bytes(hostile.huge_dimension())
    files["mixed-encodings"] = folder / "mixed.csv"
    files["mixed-encodings"].write_bytes(hostile.mixed_encodings())
    files[f"honest-{XLSX_ROWS}-rows"] = folder / "honest.xlsx"
    honest_xlsx(files[f"honest-{XLSX_ROWS}-rows"])
    return files


def status_kib(field: str) -> int:
    """VmRSS (now) or VmHWM (peak) of this process, from /proc. getrusage's ru_maxrss is not
    used: after fork and exec it keeps the parent's peak."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise LookupError(field)


def preview_one(path: Path) -> dict:
    """In this (fresh) process: preview the file as the API does; the outcome, time, peak RSS."""
    from salesline.accounts import services as accounts
    from salesline.core.errors import ValidationFailed
    from salesline.process import services as process_services
    from salesline.records.importing import services as imports

    org = process_services.organisation_create(
        name="Bench Hostile", template="business-development"
    )
    actor = accounts.system_actor(org)
    before = status_kib("VmRSS")
    started = time.perf_counter()
    try:
        preview = imports.import_preview(actor=actor, kind="leads", file=path)
        outcome = f"read: {len(preview.columns)} columns, {preview.estimated_rows:,} rows"
    except ValidationFailed as exc:
        outcome = exc.problems[0].msg
    seconds = time.perf_counter() - started
    peak = status_kib("VmHWM")
    return {
        "seconds": round(seconds, 3),
        "peak_rss_mib": round(peak / 1024, 1),
        # Peak during the preview over the process's size just before it (Django loaded).
        "rss_growth_mib": round(max(0, peak - before) / 1024, 1),
        "outcome": outcome,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--out")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.database_url
    if args.one:
        # No migrate here (the parent ran it): its peak would hide the preview's.
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.db import transaction

        with transaction.atomic():
            result = preview_one(Path(args.one))
            transaction.set_rollback(True)
        print(json.dumps(result))
        return 0
    setup_django(args.database_url)
    organisation()
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for case, path in build(Path(folder)).items():
            command = [sys.executable, "-m", "bench.hostile_files", "--database-url"]
            command += [args.database_url, "--one", str(path)]
            done = subprocess.run(command, check=True, cwd=ROOT, capture_output=True, text=True)
            result = json.loads(done.stdout.strip().splitlines()[-1])
            result["file_kib"] = round(path.stat().st_size / 1024, 1)
            results[case] = result
            print(
                f"{case:24} {result['file_kib']:>9,.1f} KiB {result['seconds']:>7.2f} s "
                f"peak {result['peak_rss_mib']:>6.1f} MiB (+{result['rss_growth_mib']:.1f})  "
                f"{result['outcome'][:90]}"
            )
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
