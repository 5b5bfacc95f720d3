"""The process engine's rows: playbook runs and their steps, to-do tasks, message templates and
messages, generated documents and their numbering, agreements and invoices, and schedule
occurrences.

"Task" here is a person's to-do item; background jobs are Django's Tasks framework
(`core.tasks`), which this app uses to send mail and run schedules.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class PlaybookRun(models.Model):
    """One occurrence of a playbook's trigger for one record: unique per (playbook,
    occurrence), so the same occurrence never runs twice, even with two workers."""

    class Status(models.TextChoices):
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    playbook = models.CharField(max_length=80)
    trigger = models.CharField(max_length=40)
    # What made it run: "event:<id>" for an event, "<schedule>:<object>:<date>" for a schedule.
    occurrence = models.CharField(max_length=120)
    opportunity = models.ForeignKey(
        "pipeline.Opportunity", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    lead = models.ForeignKey(
        "records.Lead", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "playbook", "occurrence"], name="playbook_run_once"
            )
        ]
        indexes = [
            models.Index(fields=["organisation", "opportunity", "started_at"]),
            models.Index(fields=["organisation", "lead", "started_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.playbook} ({self.occurrence})"


class StepRun(models.Model):
    """The outcome of one step of a run: what it made, or why it was skipped or failed."""

    class Outcome(models.TextChoices):
        DONE = "done"
        SKIPPED = "skipped"
        FAILED = "failed"

    run = models.ForeignKey(PlaybookRun, on_delete=models.CASCADE, related_name="steps")
    step = models.CharField(max_length=80)
    action = models.CharField(max_length=20)  # task | message | document | agreement
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    detail = models.TextField(blank=True)
    object_type = models.CharField(max_length=40, blank=True)
    object_id = models.CharField(max_length=40, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "step"], name="step_run_once"),
        ]

    def __str__(self) -> str:
        return f"{self.step}: {self.outcome}"


class Task(models.Model):
    """A person's to-do item: assigned to a member or waiting in a role's queue."""

    class Status(models.TextChoices):
        OPEN = "open"
        DONE = "done"
        CANCELLED = "cancelled"

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    title = models.CharField(max_length=200)
    instructions = models.TextField(blank=True)  # Markdown, rendered without raw HTML
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    due_date = models.DateField(null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    queue = models.CharField(max_length=40, blank=True)  # a role key (accounts.Role)
    opportunity = models.ForeignKey(
        "pipeline.Opportunity", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    lead = models.ForeignKey(
        "records.Lead", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    playbook = models.CharField(max_length=80, blank=True)
    step = models.CharField(max_length=80, blank=True)
    run = models.ForeignKey(
        PlaybookRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    created_by_label = models.CharField(max_length=254, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)
    # A customer-service work item: its work type (a key of the definition's `work_types`), the
    # step of the type's standard workflow it is at, its checklist ticks
    # ([{"item": ..., "done": bool}]), the date promised to the customer and the days of grace.
    work_type = models.CharField(max_length=80, blank=True)
    workflow_step = models.CharField(max_length=80, blank=True)
    checklist = models.JSONField(default=list, blank=True)
    promised_date = models.DateField(null=True, blank=True)
    tolerance_days = models.PositiveSmallIntegerField(default=0)
    # The last day it is still on time: (promised date, else due date) + tolerance. Kept by
    # save(), so "overdue" and "on time" are plain date comparisons in SQL.
    late_after = models.DateField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    escalation_reason = models.TextField(blank=True)

    class Meta:
        constraints = [
            # Every open task sits in exactly one queue: a person's (assignee) or a role's.
            models.CheckConstraint(
                condition=~Q(status="open") | Q(assignee__isnull=False) | ~Q(queue=""),
                name="task_open_sits_in_a_queue",
            ),
            # Re-entering a stage must not duplicate a playbook's task that is still open.
            models.UniqueConstraint(
                fields=["organisation", "opportunity", "playbook", "step"],
                condition=Q(status="open") & ~Q(playbook="") & Q(opportunity__isnull=False),
                name="task_open_once_per_opportunity",
            ),
            models.UniqueConstraint(
                fields=["organisation", "lead", "playbook", "step"],
                condition=Q(status="open") & ~Q(playbook="") & Q(lead__isnull=False),
                name="task_open_once_per_lead",
            ),
        ]
        indexes = [
            models.Index(fields=["organisation", "assignee", "status", "due_date"]),
            models.Index(fields=["organisation", "queue", "status", "due_date"]),
            models.Index(fields=["organisation", "opportunity", "status"]),
            models.Index(fields=["organisation", "lead", "status"]),
            models.Index(fields=["organisation", "status", "late_after"]),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs):
        self.late_after = self.compute_late_after()
        fields = kwargs.get("update_fields")
        if fields is not None and {"due_date", "promised_date", "tolerance_days"} & set(fields):
            kwargs["update_fields"] = {*fields, "late_after"}
        super().save(*args, **kwargs)

    @property
    def deadline(self):
        """The date it is due: the promised date of a work item, else the due date."""
        return self.promised_date or self.due_date

    def compute_late_after(self):
        deadline = self.deadline
        if deadline is None:
            return None
        return deadline + dt.timedelta(days=self.tolerance_days or 0)

    @property
    def location(self) -> str:
        """The one queue it sits in: `user:<id>` when someone has it, else its role's key."""
        return f"user:{self.assignee_id}" if self.assignee_id else self.queue

    @property
    def on_time(self) -> bool | None:
        """Done by its due (or promised) date plus its tolerance (None while open, or without
        a date)."""
        late_after = self.compute_late_after()
        if self.completed_at is None or late_after is None:
            return None
        return timezone.localdate(self.completed_at) <= late_after


class Defect(models.Model):
    """A quality problem found internally (the defect log of the daily work-in-progress
    review): what went wrong, why, and what was done about it. Open until `fixed_on` is set;
    a deleted one (`deleted_at`) leaves the log and the review and can be restored."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    found_on = models.DateField()
    description = models.TextField()
    cause = models.TextField(blank=True)
    fix = models.TextField(blank=True)
    queue = models.CharField(max_length=40, blank=True)  # a role key
    task = models.ForeignKey(
        Task, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    opportunity = models.ForeignKey(
        "pipeline.Opportunity", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    fixed_on = models.DateField(null=True, blank=True)  # None: still open
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        indexes = [models.Index(fields=["organisation", "found_on"])]

    def __str__(self) -> str:
        return self.description[:80]

    @property
    def is_fixed(self) -> bool:
        return self.fixed_on is not None


class MessageTemplate(models.Model):
    """A canned message: subject and body with merge fields in Django's template syntax."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    key = models.SlugField(max_length=80)
    name = models.CharField(max_length=200)
    subject = models.CharField(max_length=255)
    body = models.TextField()
    from_email = models.CharField(max_length=254, blank=True)  # blank: the organisation's
    # Document template keys generated (or the latest version reused) and attached on send.
    attachments = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "key"], name="message_template_key")
        ]

    def __str__(self) -> str:
        return self.name


class Document(models.Model):
    """A generated file, versioned per (record, template)."""

    class Format(models.TextChoices):
        PDF = "pdf"
        DOCX = "docx"

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    template = models.CharField(max_length=80)
    format = models.CharField(max_length=4, choices=Format.choices)
    version = models.PositiveIntegerField(default=1)
    number = models.CharField(max_length=40, blank=True)  # quotes and invoices
    opportunity = models.ForeignKey(
        "pipeline.Opportunity", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    lead = models.ForeignKey(
        "records.Lead", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    agreement = models.ForeignKey(
        "playbooks.Agreement", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    file = models.FileField(upload_to="documents/%Y/%m/", max_length=255)
    file_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    created_by_label = models.CharField(max_length=254, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["organisation", "opportunity", "template", "version"]),
            models.Index(fields=["organisation", "lead", "template", "version"]),
        ]

    def __str__(self) -> str:
        return self.file_name


class DocumentTemplateFile(models.Model):
    """An organisation's own file for a document template, in place of the shipped one."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    template = models.CharField(max_length=80)
    format = models.CharField(max_length=4, choices=Document.Format.choices)
    file = models.FileField(upload_to="document-templates/", max_length=255)
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "template", "format"], name="document_template_file"
            )
        ]

    def __str__(self) -> str:
        return f"{self.template}.{self.format}"


class NumberSequence(models.Model):
    """The last number given per organisation, kind (quote, invoice) and year. Taken under a
    row lock in the document's own transaction, so numbers are gap-free and unique."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=20)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "kind", "year"], name="number_sequence")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.year}: {self.last}"


class Message(models.Model):
    """One e-mail: drafted, queued for the worker, sent or failed."""

    class Status(models.TextChoices):
        DRAFT = "draft"
        QUEUED = "queued"
        SENT = "sent"
        FAILED = "failed"

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    template = models.CharField(max_length=80, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    from_email = models.CharField(max_length=254)
    to = models.JSONField(default=list)  # addresses
    subject = models.CharField(max_length=255)
    body = models.TextField()
    attachments = models.ManyToManyField(Document, blank=True, related_name="+")
    # Small text files carried in the row itself, not generated documents: a calendar
    # invitation. [{"file_name", "content_type", "text"}]
    inline_attachments = models.JSONField(default=list, blank=True)
    message_id = models.CharField(max_length=255, unique=True)  # the RFC 5322 Message-ID
    opportunity = models.ForeignKey(
        "pipeline.Opportunity", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    lead = models.ForeignKey(
        "records.Lead", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    run = models.ForeignKey(
        PlaybookRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    # Each send (and each retry of a failed message) gets a new token; only the delivery task
    # enqueued with it may deliver the message, so a stale task never sends it again.
    delivery_token = models.CharField(max_length=32, blank=True)
    # When a delivery of this send began: set while the message is being handed to SMTP (the
    # API still shows `queued`); a delivery resumed after a crash finds it set.
    claimed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    queued_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        indexes = [
            models.Index(fields=["organisation", "opportunity", "created_at"]),
            models.Index(fields=["organisation", "lead", "created_at"]),
            models.Index(fields=["organisation", "status", "created_at"]),
        ]

    def __str__(self) -> str:
        return self.subject


class Agreement(models.Model):
    """An opportunity's service agreement; signing it is the executed close."""

    class Status(models.TextChoices):
        DRAFT = "draft"
        SHARED = "shared"
        READY_TO_SIGN = "ready_to_sign"
        SIGNED = "signed"
        ENDED = "ended"

    class Billing(models.TextChoices):
        MONTHLY = "monthly"
        QUARTERLY = "quarterly"
        ANNUALLY = "annually"
        ONCE = "once"

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    opportunity = models.ForeignKey(
        "pipeline.Opportunity", on_delete=models.CASCADE, related_name="+"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    value = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, default="EUR")
    billing_frequency = models.CharField(
        max_length=10, choices=Billing.choices, default=Billing.MONTHLY
    )
    renewal_notice_days = models.PositiveSmallIntegerField(default=60)
    signed_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        indexes = [
            models.Index(fields=["organisation", "opportunity"]),
            models.Index(fields=["organisation", "status", "end_date"]),
        ]

    def __str__(self) -> str:
        return f"Agreement {self.pk}"


class Invoice(models.Model):
    """One billing period of an agreement, billed in advance on its issue date."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="invoices")
    period = models.PositiveSmallIntegerField()  # 0-based index of the billing period
    number = models.CharField(max_length=40)
    issue_date = models.DateField()
    amount = models.DecimalField(max_digits=16, decimal_places=2)
    currency = models.CharField(max_length=3)
    document = models.ForeignKey(
        Document, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agreement", "period"], name="invoice_once_per_period"),
            models.UniqueConstraint(fields=["organisation", "number"], name="invoice_number"),
        ]

    def __str__(self) -> str:
        return self.number


class ScheduleOccurrence(models.Model):
    """One due occurrence of a schedule (renewal tickler, invoice, check-in, date trigger) for
    one object: the unique key makes it run once across all workers."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    schedule = models.CharField(max_length=80)
    object_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=40)
    due_on = models.DateField()
    ran_at = models.DateTimeField(default=timezone.now)
    outcome = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "schedule", "object_type", "object_id", "due_on"],
                name="schedule_occurrence_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.schedule} {self.object_type}:{self.object_id} {self.due_on}"
