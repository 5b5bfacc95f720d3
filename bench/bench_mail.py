"""Mail delivery benchmark: N queued messages delivered by one, then two, real `salesline worker`
processes to an SMTP server on loopback (aiosmtpd, in a process of its own so it shares no GIL
with the workers).

Each run queues N messages the way `message_send` does (a message row with its delivery token
and its `message_deliver` task row, in one transaction), starts the workers (`--once`: they exit
when the queue is empty) and measures

- messages/s: N / (last `sent_at` - first `sent_at`), the workers' steady rate;
- wall messages/s: N / the time from starting the workers to their exit (process start-up, about
  a second of Django's import, included).

    python -m bench.bench_mail --database-url URL [--messages 10000] [--workers 1,2] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path

from bench.api_lists import setup_django

ROOT = Path(__file__).resolve().parents[1]
BENCH_ORG = "Bench Mail"
SALESLINE = str(Path(sys.executable).parent / "salesline")


def serve_smtp(port_file: str) -> None:
    """The SMTP server process: accepts everything, keeps nothing; writes its port to a file."""
    import asyncio  # noqa: F401 - aiosmtpd's loop

    from aiosmtpd.controller import Controller

    class Accept:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            return "250 OK"

    from tests.subprocesses import free_port

    for _ in range(5):
        port = free_port()
        controller = Controller(Accept(), hostname="127.0.0.1", port=port)
        try:
            controller.start()
        except (OSError, RuntimeError):
            continue
        Path(port_file).write_text(str(port))
        try:
            while True:
                time.sleep(3600)
        finally:
            controller.stop()
    raise SystemExit("no free port")


def start_smtp_server() -> tuple[subprocess.Popen, int]:
    port_file = ROOT / "var" / f"bench-smtp-{os.getpid()}.port"
    port_file.unlink(missing_ok=True)
    process = subprocess.Popen(  # noqa: S603 - this interpreter, this module
        [sys.executable, "-m", "bench.bench_mail", "--serve-smtp", str(port_file)], cwd=ROOT
    )
    deadline = time.monotonic() + 30
    while not port_file.exists() or not port_file.read_text():
        if time.monotonic() > deadline or process.poll() is not None:
            raise SystemExit("the SMTP server did not start")
        time.sleep(0.05)
    port = int(port_file.read_text())
    port_file.unlink()
    return process, port


def ensure_setup():
    from salesline.accounts import services as accounts
    from salesline.accounts.models import Organisation
    from salesline.pipeline.services import opportunity_create
    from salesline.playbooks.models import MessageTemplate
    from salesline.process.services import organisation_create
    from salesline.records.services import record_create

    organisation = Organisation.objects.filter(name=BENCH_ORG).first()
    if organisation is None:
        organisation = organisation_create(name=BENCH_ORG, template="business-development")
        organisation.from_email = "partnerships@bench-mail.no"
        organisation.save(update_fields=["from_email"])
    actor = accounts.system_actor(organisation, "bench")
    MessageTemplate.objects.get_or_create(
        organisation=organisation,
        key="hail-the-lead",
        defaults={
            "name": "Hail the lead",
            "subject": "Hello {{ contact.first_name }}",
            "body": "Dear {{ contact.name }},\n\nShall we meet?\n\n{{ organisation.name }}",
        },
    )
    from salesline.pipeline.models import Opportunity

    deal = Opportunity.objects.filter(organisation=organisation, deleted_at=None).first()
    if deal is None:
        company = record_create(
            actor=actor,
            kind="company",
            data={
                "name": "Acme Archives AS",
                "contact_type": "Customer",
                "business_unit": "Nordics",
                "market": "Norway",
                "life_cycle": "Prospect",
                "sector": "Government",
                "segment": "Enterprise",
                "email_domain": "acme.no",
            },
        )
        person = record_create(
            actor=actor,
            kind="person",
            data={
                "name": "Ola Nordmann",
                "email": "ola@acme.no",
                "phone": "+4722000000",
                "business_unit": "Nordics",
                "title": "Head of Archives",
                "company_id": company.pk,
            },
        )
        deal = opportunity_create(
            actor=actor, data={"name": "Archive project", "primary_contact_id": person.pk}
        )
    return organisation, actor, deal


def clear(organisation) -> None:
    from django_tasks_db.models import DBTaskResult

    from salesline.core.models import AuditEvent
    from salesline.playbooks.models import Message

    Message.objects.filter(organisation=organisation).delete()
    DBTaskResult.objects.filter(task_path__endswith="delivery.message_deliver").delete()
    AuditEvent.objects.filter(organisation=organisation, object_type="message").delete()


def queue_messages(organisation, actor, deal, count: int) -> None:
    """`count` queued messages and their delivery tasks, as message_send leaves them."""
    from django.db import transaction
    from django.utils import timezone

    from salesline.playbooks import message_services
    from salesline.playbooks.delivery import message_deliver
    from salesline.playbooks.models import Message

    template = message_services.MessageTemplate.objects.get(
        organisation=organisation, key="hail-the-lead"
    )
    subject, body = message_services.render_template(template, actor=actor, opportunity=deal)
    now = timezone.now()
    for start in range(0, count, 1000):
        with transaction.atomic():
            rows = Message.objects.bulk_create(
                Message(
                    organisation=organisation,
                    template=template.key,
                    status=Message.Status.QUEUED,
                    from_email=organisation.from_email,
                    to=["ola@acme.no"],
                    subject=f"{subject} ({number})",
                    body=body,
                    message_id=message_services.new_message_id(organisation.from_email),
                    opportunity=deal,
                    delivery_token=uuid.uuid4().hex,
                    queued_at=now,
                    created_at=now,
                    updated_at=now,
                )
                for number in range(start, min(count, start + 1000))
            )
            for message in rows:
                message_deliver.enqueue(message.pk, message.delivery_token)


def run(database_url: str, port: int, workers: int, count: int) -> dict:
    from django.db.models import Max, Min

    from salesline.playbooks.models import Message

    organisation, actor, deal = ensure_setup()
    clear(organisation)
    queue_messages(organisation, actor, deal, count)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(port),
        "SMTP_TLS": "0",
    }
    load_before = os.getloadavg()[0]
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    processes = [
        subprocess.Popen(  # noqa: S603 - our own console script
            [SALESLINE, "worker", "--once", "--interval", "0.05"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    for process in processes:
        process.wait()
    wall = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    worker_cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (
        cpu_after.ru_stime - cpu_before.ru_stime
    )
    messages = Message.objects.filter(organisation=organisation)
    sent = messages.filter(status=Message.Status.SENT)
    span = sent.aggregate(first=Min("sent_at"), last=Max("sent_at"))
    seconds = (span["last"] - span["first"]).total_seconds() if span["first"] else 0.0
    result = {
        "workers": workers,
        "messages": count,
        "sent": sent.count(),
        "not_sent": messages.exclude(status=Message.Status.SENT).count(),
        "seconds": round(seconds, 2),
        "messages_per_second": round(count / seconds, 1) if seconds else None,
        "wall_seconds": round(wall, 2),
        "wall_messages_per_second": round(count / wall, 1),
        # CPU the workers used (start-up included) per message: what the rate would be on
        # otherwise idle cores, whatever else the machine was doing.
        "worker_cpu_ms_per_message": round(worker_cpu / count * 1000, 2),
        "load_average_before": round(load_before, 1),
        "load_average_after": round(os.getloadavg()[0], 1),
    }
    print(json.dumps(result), flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_mail", description=__doc__)
    parser.add_argument("--database-url")
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--out")
    parser.add_argument("--serve-smtp", metavar="PORT_FILE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_smtp:
        sys.path.insert(0, str(ROOT))
        serve_smtp(args.serve_smtp)
        return 0
    if not args.database_url:
        parser.error("--database-url is required")
    setup_django(args.database_url)
    server, port = start_smtp_server()
    try:
        results = [
            run(args.database_url, port, int(workers), args.messages)
            for workers in args.workers.split(",")
        ]
    finally:
        server.terminate()
        server.wait()
    vendor = "postgres" if args.database_url.startswith("postgres") else "sqlite"
    report = {"database": vendor, "runs": results}
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
