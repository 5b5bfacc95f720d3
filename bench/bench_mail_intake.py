"""Mail intake benchmark: N e-mails fetched from a real Dovecot on loopback (tests/enquiries/
dovecot.py) and recorded as enquiries by `mail_intake.mailbox_fetch`.

The messages are APPENDed to a fresh IMAP user first (not timed); then one `mailbox_fetch`
is timed: the UID SEARCH, FETCH in batches (imap-tools' `bulk`), one transaction per batch
with a savepoint per message (the raw InboundMail row, deduplication, parsing, the enquiry with
its reference, audit row, events and acknowledgement request), and the \\Seen flags per batch.
Figures: messages/s, and a second fetch of the same messages made unseen again (all
duplicates: the dedupe path).

    python -m bench.bench_mail_intake --database-url URL [--messages 10000] [--batch 100] [--out FILE]
        [--profile FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from email.message import EmailMessage
from pathlib import Path

from bench.api_lists import setup_django

ROOT = Path(__file__).resolve().parents[1]


def _message(n: int, run: str) -> bytes:
    message = EmailMessage()
    message["From"] = f"Enquirer {n} <enquirer{n}@example.test>"
    message["To"] = "enquiries@network.test"
    message["Subject"] = f"Enquiry {n}: a website for our co-operative"
    message["Message-ID"] = f"<{run}.{n}@example.test>"
    body = (
        f"Hello,\n\nWe are a small co-operative (enquiry {n}) looking for help with a new "
        "website and a members' area. Our budget is around £15,000 and we would like to "
        "start in the spring.\n\nBest wishes,\nEnquirer\n"
    )
    if n % 5 == 0:
        message.set_content(body, charset="iso-8859-1")
        message.add_alternative(f"<p>{body}</p>", subtype="html")
    else:
        message.set_content(body)
    return message.as_bytes()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--out")
    parser.add_argument("--profile", help="write a cProfile of the first (timed) fetch here")
    args = parser.parse_args()
    setup_django(args.database_url)
    sys.path.insert(0, str(ROOT))
    from imap_tools import MailBoxUnencrypted

    from salesline.accounts import services as accounts
    from salesline.enquiries.mail_intake import mailbox_fetch, mailbox_set
    from salesline.enquiries.models import Enquiry
    from salesline.enquiries.network_services import network_create
    from salesline.process.services import organisation_create
    from tests.enquiries import dovecot

    run = uuid.uuid4().hex[:8]
    server = dovecot.start()
    try:
        home = organisation_create(name=f"Bench Intake Home {run}", template="partnerships")
        network = network_create(
            name=f"Bench Intake {run}",
            coordinator_email=f"coord-{run}@bench.test",
            org_slug=home.slug,
        )
        user = f"bench-{run}"
        mailbox = mailbox_set(
            actor=accounts.system_actor(network.organisation, "bench"),
            network=network,
            data={
                "host": server.host,
                "port": server.port,
                "username": user,
                "password": server.password,
                "ssl": False,
            },
        )
        started = time.perf_counter()
        with MailBoxUnencrypted(server.host, server.port).login(user, server.password) as box:
            for n in range(args.messages):
                box.client.append("INBOX", None, None, _message(n, run))
        append_seconds = time.perf_counter() - started
        print(f"appended {args.messages:,} messages in {append_seconds:.1f} s (not timed)")

        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        started = time.perf_counter()
        report = mailbox_fetch(mailbox, batch=args.batch)
        seconds = time.perf_counter() - started
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
        recorded = Enquiry.objects.filter(network=network).count()
        if report.created != args.messages or recorded != args.messages:
            raise SystemExit(f"expected {args.messages} enquiries: {report}, {recorded} recorded")

        with MailBoxUnencrypted(server.host, server.port).login(user, server.password) as box:
            box.flag(box.uids(), "\\Seen", False)
        started = time.perf_counter()
        again = mailbox_fetch(mailbox, batch=args.batch)
        dedupe_seconds = time.perf_counter() - started
        if again.duplicates != args.messages or again.created:
            raise SystemExit(f"expected {args.messages} duplicates: {again}")
    finally:
        server.stop()
    result = {
        "database": "postgres" if args.database_url.startswith("postgres") else "sqlite",
        "messages": args.messages,
        "batch": args.batch,
        "seconds": round(seconds, 2),
        "messages_per_second": round(args.messages / seconds, 1),
        "duplicates_seconds": round(dedupe_seconds, 2),
        "duplicates_per_second": round(args.messages / dedupe_seconds, 1),
    }
    print(
        f"{result['database']}: {args.messages:,} e-mails fetched and recorded in {seconds:.1f} s "
        f"= {result['messages_per_second']:,.0f} messages/s; fetched again as duplicates in "
        f"{dedupe_seconds:.1f} s = {result['duplicates_per_second']:,.0f} messages/s"
    )
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    raise SystemExit(main())
