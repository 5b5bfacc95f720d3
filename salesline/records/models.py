from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone

from salesline.core.models import OrgScopedModel

ALIVE = Q(deleted_at__isnull=True)


def alive_index(*fields: str, name: str) -> models.Index:
    """A partial index over live rows only: soft-deleted rows never reach list queries."""
    return models.Index(fields=list(fields), name=name, condition=ALIVE)


class RecordBase(OrgScopedModel):
    name = models.CharField(max_length=255)
    # Case-folded name, kept by the services: prefix search and name ordering use it. On
    # PostgreSQL its collation is "C" (migration 0002) so both are byte-order range scans of one
    # index, as on SQLite.
    search_name = models.CharField(max_length=255, blank=True, editable=False)
    # The folded words word search finds (matching.search_text), kept by the services and the
    # import. Indexed by the database's own full-text machinery, outside the ORM (records
    # migration 0006, records/search_index.py): FTS5 on SQLite, GIN on PostgreSQL.
    search_text = models.TextField(blank=True, default="", editable=False)
    # The folded last word of the name (matching.last_word), kept with search_name: a search
    # lists the records whose surname starts with the query right after whole-name matches, in
    # surname order, from one B-tree range ("C" collation on PostgreSQL, records migration 0009).
    search_last_word = models.CharField(max_length=255, blank=True, default="", editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    custom_fields = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name


class Importable(models.Model):
    # The import that created the record: an import is undone as a whole by this column. No
    # index and no constraint, so bulk inserts pay nothing for it; undo scans, which is rare.
    import_job = models.ForeignKey(
        "records.ImportJob",
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
        editable=False,
    )

    class Meta:
        abstract = True


class Company(Importable, RecordBase):
    contact_type = models.CharField(max_length=80, blank=True)
    business_unit = models.CharField(max_length=120, blank=True)
    market = models.CharField(max_length=120, blank=True)
    life_cycle = models.CharField(max_length=80, blank=True)
    sector = models.CharField(max_length=120, blank=True)
    segment = models.CharField(max_length=120, blank=True)
    website = models.CharField(max_length=255, blank=True)
    email_domain = models.CharField(max_length=255, blank=True)
    # Where the company is met: a meeting's location defaults to its opportunity's company.
    address = models.CharField(max_length=500, blank=True)
    city = models.CharField(max_length=120, blank=True)
    country = models.CharField(max_length=2, blank=True)  # ISO 3166-1 alpha-2
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    # Normalised name (legal suffixes and punctuation dropped) for duplicate matching.
    match_name = models.CharField(max_length=255, blank=True, editable=False)

    class Meta:
        verbose_name_plural = "companies"
        indexes = [
            alive_index("organisation", "-created_at", "-id", name="company_recent"),
            alive_index("organisation", "search_name", "id", name="company_search"),
            alive_index(
                "organisation", "search_last_word", "search_name", "id", name="company_last_word"
            ),
            alive_index("organisation", "email_domain", name="company_domain"),
            alive_index("organisation", "match_name", name="company_match"),
        ]


class Person(Importable, RecordBase):
    email = models.CharField(max_length=254, blank=True)
    phone = models.CharField(max_length=64, blank=True)
    business_unit = models.CharField(max_length=120, blank=True)
    company = models.ForeignKey(
        Company, on_delete=models.SET_NULL, null=True, blank=True, related_name="people"
    )
    title = models.CharField(max_length=200, blank=True)
    linkedin = models.CharField(max_length=255, blank=True)
    # What else is known: a second e-mail or phone an import found, an address, background.
    details = models.TextField(blank=True)
    buying_influence = models.CharField(max_length=120, blank=True)
    response_mode = models.CharField(max_length=120, blank=True)
    win_result = models.CharField(max_length=120, blank=True)
    # "company|surname": where duplicate candidates are looked for (matching.name_block).
    dedupe_key = models.CharField(max_length=255, blank=True, editable=False)

    class Meta:
        verbose_name_plural = "people"
        indexes = [
            alive_index("organisation", "-created_at", "-id", name="person_recent"),
            alive_index("organisation", "search_name", "id", name="person_search"),
            alive_index(
                "organisation", "search_last_word", "search_name", "id", name="person_last_word"
            ),
            alive_index("organisation", "email", name="person_email"),
            alive_index("organisation", "dedupe_key", name="person_dedupe"),
        ]


class Campaign(OrgScopedModel):
    """A marketing effort that brings in leads (a trade show, a webinar, a mailing, a referral
    scheme, a partner): its dates and what it cost. Leads and opportunities point at the
    campaign that first touched them."""

    class Kind(models.TextChoices):
        TRADE_SHOW = "trade_show", "Trade show"
        WEBINAR = "webinar", "Webinar"
        MAILING = "mailing", "Mailing"
        REFERRAL = "referral", "Referral"
        PARTNER = "partner", "Partner"
        OTHER = "other", "Other"

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.OTHER)
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)
    cost = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    currency = models.CharField(max_length=3, default="EUR")
    description = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "name"],
                condition=ALIVE,
                name="campaign_unique_name",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Lead(Importable, RecordBase):
    company_name = models.CharField(max_length=255, blank=True)
    email = models.CharField(max_length=254, blank=True)
    business_unit = models.CharField(max_length=120, blank=True)
    source = models.CharField(max_length=120, blank=True)
    # First touch: the campaign that brought the lead in (an import can set it for a file).
    campaign = models.ForeignKey(
        Campaign, on_delete=models.SET_NULL, null=True, blank=True, related_name="leads"
    )
    details = models.TextField(blank=True)
    phone = models.CharField(max_length=64, blank=True)
    linkedin = models.CharField(max_length=255, blank=True)
    description = models.TextField(blank=True)
    converted_at = models.DateTimeField(null=True, blank=True)
    converted_person = models.ForeignKey(
        Person, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    converted_company = models.ForeignKey(
        Company, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    converted_opportunity = models.ForeignKey(
        "pipeline.Opportunity", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    dedupe_key = models.CharField(max_length=255, blank=True, editable=False)

    class Meta:
        indexes = [
            alive_index("organisation", "-created_at", "-id", name="lead_recent"),
            alive_index("organisation", "source", "-created_at", "-id", name="lead_source_recent"),
            # The campaign report counts a period's leads per campaign from this index alone
            # (SQLite needs every column the query names in it, deleted_at included).
            alive_index(
                "organisation", "campaign", "created_at", "deleted_at", name="lead_campaign"
            ),
            alive_index("organisation", "search_name", "id", name="lead_search"),
            alive_index(
                "organisation", "search_last_word", "search_name", "id", name="lead_last_word"
            ),
            alive_index("organisation", "email", name="lead_email"),
            alive_index("organisation", "dedupe_key", name="lead_dedupe"),
        ]


class Note(OrgScopedModel):
    """A timeline entry on exactly one record. The body is plain text, never rendered as HTML."""

    class Kind(models.TextChoices):
        NOTE = "note", "Note"
        CALL = "call", "Call"
        MEETING = "meeting", "Meeting"
        EMAIL = "email", "E-mail"

    body = models.TextField()
    # What was logged: a meeting counts towards business-development meetings until
    # appointments exist (see docs/metrics.md).
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.NOTE)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, null=True, blank=True, related_name="notes"
    )
    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, null=True, blank=True, related_name="notes"
    )
    lead = models.ForeignKey(
        Lead, on_delete=models.CASCADE, null=True, blank=True, related_name="notes"
    )
    opportunity = models.ForeignKey(
        "pipeline.Opportunity",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notes",
    )

    class Meta:
        indexes = [alive_index("organisation", "-created_at", "-id", name="note_recent")]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(company__isnull=False, person=None, lead=None, opportunity=None)
                    | Q(company=None, person__isnull=False, lead=None, opportunity=None)
                    | Q(company=None, person=None, lead__isnull=False, opportunity=None)
                    | Q(company=None, person=None, lead=None, opportunity__isnull=False)
                ),
                name="note_on_exactly_one_record",
            )
        ]

    def __str__(self) -> str:
        return self.body[:60]


class ImportJob(models.Model):
    """One import of a spreadsheet: its options, progress and report counts.

    Progress and counts are committed with each chunk of rows, so a worker that dies mid-import
    leaves a job that says exactly how far it got, and the next run resumes from there.
    """

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"
        UNDONE = "undone"

    class OnDuplicate(models.TextChoices):
        SKIP = "skip"
        UPDATE = "update"  # fill the existing record's empty fields
        OVERWRITE = "overwrite"

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    kind = models.CharField(max_length=20)
    file = models.FileField(upload_to="imports/%Y/%m/", max_length=255)
    file_name = models.CharField(max_length=255)
    # What the file is read as: csv, xlsx or vcard ("" for imports from before it was kept).
    file_kind = models.CharField(max_length=10, blank=True)
    mapping = models.JSONField(default=dict)
    # One value for every row of a field no column gives ({"source": "Archiving Expo 2026"}),
    # kept with the import so a dry run run for real, or a resumed run, uses the same ones.
    constants = models.JSONField(default=dict, blank=True)
    region = models.CharField(max_length=2, blank=True)
    on_duplicate = models.CharField(
        max_length=10, choices=OnDuplicate.choices, default=OnDuplicate.SKIP
    )
    dry_run = models.BooleanField(default=False)
    # The import a dry run was run as: running it again leads there instead of importing twice.
    ran_as = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    total_rows = models.PositiveIntegerField(null=True, blank=True)
    rows_done = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    possible_duplicates = models.PositiveIntegerField(default=0)
    companies_created = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    # What the reading noticed that the user should know (rows read in a legacy encoding).
    notes = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undo_report = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["organisation", "-created_at"], name="import_recent")]

    def __str__(self) -> str:
        return f"import {self.pk} of {self.file_name}"

    @property
    def unit(self) -> str:
        """What the report numbers: the cards of a vCard file, else the rows."""
        return "card" if self.file_kind == "vcard" else "row"


class ImportIssue(models.Model):
    """A row of an import's report that needs the user's eye: rejected, skipped as a duplicate,
    or created next to a possible duplicate. `values` keeps the row as read, so rejected rows can
    be downloaded, fixed and imported again."""

    class Type(models.TextChoices):
        REJECTED = "rejected"
        DUPLICATE = "duplicate"
        POSSIBLE_DUPLICATE = "possible_duplicate"

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="issues")
    row = models.PositiveIntegerField()
    type = models.CharField(max_length=20, choices=Type.choices)
    field = models.CharField(max_length=80, blank=True)
    reason = models.CharField(max_length=500)
    record_id = models.BigIntegerField(null=True, blank=True)
    values = models.JSONField(default=list, blank=True)
    # Who the row is, as the file names them, so the report can say more than a row number.
    name = models.CharField(max_length=255, blank=True)
    email = models.CharField(max_length=255, blank=True)

    class Meta:
        indexes = [models.Index(fields=["job", "type", "row"], name="import_issue_row")]

    def __str__(self) -> str:
        return f"row {self.row}: {self.reason}"


class ImportChange(models.Model):
    """The values an import overwrote on an existing record, for undo."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="changes")
    record_id = models.BigIntegerField()
    before = models.JSONField(encoder=DjangoJSONEncoder)
    version_after = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"change of record {self.record_id}"


class ImportMapping(models.Model):
    """A column mapping saved for the next file of the same shape (same headers, same kind)."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=20)
    signature = models.CharField(max_length=64)
    headers = models.JSONField(default=list)
    mapping = models.JSONField(default=dict)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "kind", "signature"], name="import_mapping_shape"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} mapping {self.signature[:8]}"
