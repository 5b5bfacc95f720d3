"""Networks of organisations and what they share: the enquiry inbox, the duty rota, the skills
directory, referrals, joint bids and applications decided by the members' vote.

A network keeps its own books in an organisation of its own (`Network.organisation`, created
with the `network-enquiries` template): the network pipeline's leads, the acknowledgements and
replies (playbooks' messages) and the audit trail of every network-level object live there, so
no member's private records are ever touched by network work. Members reach network objects
only through `selectors.py`, by the rules written in docs/networks.md.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from salesline.core.encryption import EncryptedTextField


class Network(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    # The network's own books (its pipeline, leads, messages, audit trail).
    organisation = models.OneToOneField(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="network"
    )
    # The network coordinator (a network-level role) and the member organisation they act from.
    coordinator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    coordinator_home = models.ForeignKey(
        "accounts.Organisation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Counts enquiry references (`<SLUG>-<year>-<n>`), incremented with F() under a row lock.
    enquiry_counter = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name


class NetworkMember(models.Model):
    """An organisation's membership of a network; `left_at` is set when it leaves (kept)."""

    network = models.ForeignKey(Network, on_delete=models.CASCADE, related_name="members")
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="network_memberships"
    )
    joined_at = models.DateTimeField(default=timezone.now)
    left_at = models.DateTimeField(null=True, blank=True)
    # How it joined: "founder", "added" (bootstrap), "vote".
    joined_by = models.CharField(max_length=20, default="added")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["network", "organisation"], name="network_member_once")
        ]

    def __str__(self) -> str:
        return f"{self.organisation} in {self.network}"


class Mailbox(models.Model):
    """The IMAP mailbox the worker fetches a network's enquiries from."""

    network = models.OneToOneField(Network, on_delete=models.CASCADE, related_name="mailbox")
    host = models.CharField(max_length=255)
    port = models.PositiveIntegerField(default=993)
    ssl = models.BooleanField(default=True)
    starttls = models.BooleanField(default=False)
    username = models.CharField(max_length=255)
    # A Fernet token (salesline.core.encryption), never the password itself; blank: none set.
    password_encrypted = EncryptedTextField(blank=True)
    folder = models.CharField(max_length=255, default="INBOX")
    enabled = models.BooleanField(default=True)
    last_fetched_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"{self.username}@{self.host}/{self.folder}"


class Category(models.TextChoices):
    JOINING = "joining", "Joining the network"
    SETTING_UP = "setting_up", "Setting up a co-op"
    JOBS = "jobs", "Jobs"
    RESEARCH = "research", "Research"
    SPEAKING = "speaking", "Speaking invitation"
    PROMOTION = "promotion", "Promoting a product to members"
    SALES = "sales", "Sales enquiry"
    OTHER = "other", "Other"


class EnquiryStatus(models.TextChoices):
    NEW = "new", "New"
    TRIAGED = "triaged", "Triaged"
    REPLIED = "replied", "Replied"
    LEAD = "lead", "Lead"
    DECLINED = "declined", "Declined"
    CLOSED = "closed", "Closed"


class EnquirySource(models.TextChoices):
    FORM = "form", "Public form"
    EMAIL = "email", "E-mail"
    API = "api", "API"
    MANUAL = "manual", "Entered by hand"


class Enquiry(models.Model):
    network = models.ForeignKey(Network, on_delete=models.PROTECT, related_name="enquiries")
    # Unique within its network (two networks may share a prefix: see intake._next_reference).
    reference = models.CharField(max_length=40)
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(max_length=254, blank=True)
    organisation_name = models.CharField(max_length=200, blank=True)
    country = models.CharField(max_length=2, blank=True)  # ISO 3166 alpha-2
    message = models.TextField(blank=True)
    subject = models.CharField(max_length=255, blank=True)
    category = models.CharField(max_length=20, choices=Category.choices, blank=True)
    status = models.CharField(
        max_length=20, choices=EnquiryStatus.choices, default=EnquiryStatus.NEW
    )
    source = models.CharField(max_length=10, choices=EnquirySource.choices)
    # The chair on duty when it arrived (routing), and who holds it now.
    chair_org = models.ForeignKey(
        "accounts.Organisation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    chair_person = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    received_at = models.DateTimeField(default=timezone.now)
    respond_by = models.DateField()
    first_response_at = models.DateTimeField(null=True, blank=True)
    overdue_flagged_at = models.DateTimeField(null=True, blank=True)
    # Triage: the answers to the category's questions and eligibility criteria, the verdict.
    answers = models.JSONField(default=dict, blank=True)
    eligible = models.BooleanField(null=True, blank=True)
    reasons = models.JSONField(default=list, blank=True)
    checklist_done = models.JSONField(default=list, blank=True)  # keys of next steps ticked
    triaged_at = models.DateTimeField(null=True, blank=True)
    triaged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The lead in the network pipeline (records.Lead in the network's own organisation).
    lead = models.ForeignKey(
        "records.Lead", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # An e-mail enquiry's Message-ID (deduplication) and the inbound mail it came from.
    message_id = models.CharField(max_length=998, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["network", "reference"], name="enquiry_reference_once_per_network"
            )
        ]
        indexes = [
            models.Index(fields=["reference"]),
            models.Index(fields=["network", "status", "received_at"]),
            models.Index(fields=["network", "category"]),
            models.Index(fields=["network", "chair_org"]),
            models.Index(fields=["status", "respond_by"]),
        ]

    def __str__(self) -> str:
        return self.reference


class EnquiryAttachment(models.Model):
    enquiry = models.ForeignKey(Enquiry, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="enquiries/%Y/%m/")
    file_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255, blank=True)
    size = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.file_name


class InboundStatus(models.TextChoices):
    ENQUIRY = "enquiry", "Became an enquiry"
    DUPLICATE = "duplicate", "Duplicate"
    QUARANTINED = "quarantined", "Quarantined"
    RELEASED = "released", "Released from quarantine"
    DISCARDED = "discarded", "Discarded from quarantine"


class InboundMail(models.Model):
    """Every message fetched from a mailbox, raw, kept before anything else is done with it: one
    that cannot be parsed is quarantined here with the reason, never lost."""

    network = models.ForeignKey(Network, on_delete=models.CASCADE, related_name="inbound_mail")
    # '' when the message has none (then deduplicated by the raw message's SHA-256).
    message_id = models.CharField(max_length=998, blank=True)
    sha256 = models.CharField(max_length=64)
    uid = models.CharField(max_length=40, blank=True)
    raw = models.BinaryField()
    status = models.CharField(max_length=20, choices=InboundStatus.choices)
    reason = models.TextField(blank=True)
    enquiry = models.ForeignKey(
        Enquiry, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    fetched_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["network", "sha256"], name="inbound_mail_once_per_content"
            ),
        ]
        indexes = [
            models.Index(fields=["network", "message_id"]),
            models.Index(fields=["network", "status"]),
        ]

    def __str__(self) -> str:
        return self.message_id or self.sha256


class RotaPeriod(models.Model):
    """The chair on duty from `starts_on` to `ends_on` (inclusive); periods of one network never
    overlap and leave no gap between them (services.py)."""

    network = models.ForeignKey(Network, on_delete=models.CASCADE, related_name="rota")
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    starts_on = models.DateField()
    ends_on = models.DateField()
    # The outgoing chair's hand-over, and the incoming chair's acknowledgement.
    handover_notes = models.TextField(blank=True)
    handover_open_enquiries = models.JSONField(default=list, blank=True)  # references, listed
    handover_written_at = models.DateTimeField(null=True, blank=True)
    handover_written_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_reminded_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="rota_period_not_backwards"
            ),
            models.UniqueConstraint(fields=["network", "starts_on"], name="rota_period_one_start"),
        ]

    def __str__(self) -> str:
        return f"{self.organisation} {self.starts_on}–{self.ends_on}"


class Skill(models.Model):
    """One entry of a network's skills taxonomy (a tree: `parent` is the broader skill)."""

    network = models.ForeignKey(Network, on_delete=models.CASCADE, related_name="skills")
    key = models.SlugField(max_length=80)
    name = models.CharField(max_length=120)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    description = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["network", "key"], name="skill_key_once_per_network")
        ]

    def __str__(self) -> str:
        return self.name


class MemberSkill(models.Model):
    network = models.ForeignKey(Network, on_delete=models.CASCADE, related_name="+")
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, related_name="members")
    level = models.PositiveSmallIntegerField()  # 1 (some) to 5 (expert)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["network", "organisation", "skill"], name="member_skill_once"
            ),
            models.CheckConstraint(
                condition=Q(level__gte=1, level__lte=5), name="member_skill_level_1_to_5"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation}: {self.skill} {self.level}"


class PersonSkill(models.Model):
    """An individual's skill, within their member organisation."""

    network = models.ForeignKey(Network, on_delete=models.CASCADE, related_name="+")
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    person_name = models.CharField(max_length=200)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, related_name="people")
    level = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["network", "organisation", "person_name", "skill"],
                name="person_skill_once",
            ),
            models.CheckConstraint(
                condition=Q(level__gte=1, level__lte=5), name="person_skill_level_1_to_5"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person_name}: {self.skill} {self.level}"


class MemberProfile(models.Model):
    """What a member tells the network about itself: the directory entry joint bids draw on."""

    network = models.ForeignKey(Network, on_delete=models.CASCADE, related_name="+")
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    summary = models.TextField(blank=True)
    website = models.URLField(max_length=500, blank=True)
    staff_count = models.PositiveIntegerField(null=True, blank=True)
    # Rates (a day rate and free text), policies and procedures, accounts (a summary; files below).
    day_rate = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, default="GBP")
    rates = models.TextField(blank=True)
    policies = models.TextField(blank=True)
    accounts = models.TextField(blank=True)
    annual_turnover = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    # Capacity to take work: when it is free and the size of project it can deliver.
    available_from = models.DateField(null=True, blank=True)
    min_project_value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    max_project_value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["network", "organisation"], name="member_profile_once")
        ]

    def __str__(self) -> str:
        return f"{self.organisation} in {self.network}"


class MemberDocument(models.Model):
    """A file of a member's directory entry: a policy, its accounts, a rate card."""

    class Kind(models.TextChoices):
        POLICY = "policy", "Policy or procedure"
        ACCOUNTS = "accounts", "Accounts"
        RATES = "rates", "Rates"
        OTHER = "other", "Other"

    network = models.ForeignKey(Network, on_delete=models.CASCADE, related_name="+")
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    title = models.CharField(max_length=200)
    file = models.FileField(upload_to="network-documents/%Y/%m/")
    file_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.title


class CaseStudy(models.Model):
    network = models.ForeignKey(Network, on_delete=models.CASCADE, related_name="case_studies")
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    title = models.CharField(max_length=200)
    client = models.CharField(max_length=200)
    summary = models.TextField()
    skills = models.ManyToManyField(Skill, blank=True, related_name="case_studies")
    value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, default="GBP")
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-year", "title"]

    def __str__(self) -> str:
        return self.title


class CaseStudyFile(models.Model):
    case_study = models.ForeignKey(CaseStudy, on_delete=models.CASCADE, related_name="files")
    file = models.FileField(upload_to="case-studies/%Y/%m/")
    file_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.file_name


class ReferralStatus(models.TextChoices):
    OFFERED = "offered", "Offered"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    WITHDRAWN = "withdrawn", "Withdrawn"


class Referral(models.Model):
    """A feasible lead handed to one member. Accepting makes an opportunity in the member's own
    pipeline; the network sees only this row's status, never that opportunity."""

    network = models.ForeignKey(Network, on_delete=models.CASCADE, related_name="referrals")
    enquiry = models.ForeignKey(Enquiry, on_delete=models.CASCADE, related_name="referrals")
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        max_length=20, choices=ReferralStatus.choices, default=ReferralStatus.OFFERED
    )
    score = models.FloatField(default=0)
    match_reasons = models.JSONField(default=list, blank=True)
    reason = models.TextField(blank=True)  # why it was declined
    referred_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    referred_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    # The opportunity in the member's organisation (shown to that member only).
    opportunity_id = models.BigIntegerField(null=True, blank=True)
    # Outcome reported back by the member (won/lost), for ranking by past outcomes.
    outcome = models.CharField(max_length=10, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["enquiry", "organisation"], name="referral_once_per_member"
            )
        ]
        indexes = [models.Index(fields=["network", "organisation", "status"])]

    def __str__(self) -> str:
        return f"{self.enquiry} → {self.organisation}"


class Bid(models.Model):
    """A joint bid: chosen members, the lead member (who carries the risk) and the tender."""

    network = models.ForeignKey(Network, on_delete=models.CASCADE, related_name="bids")
    title = models.CharField(max_length=200)
    tender = models.TextField(blank=True)
    deadline = models.DateField(null=True, blank=True)
    enquiry = models.ForeignKey(
        Enquiry, null=True, blank=True, on_delete=models.SET_NULL, related_name="bids"
    )
    lead_member = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    members = models.ManyToManyField("accounts.Organisation", related_name="+")
    # The members that confirmed taking part: only their accounts go into the pack.
    confirmed_members = models.ManyToManyField(
        "accounts.Organisation", related_name="+", blank=True
    )
    # The pre-qualification questionnaire's questions, as given.
    questions = models.JSONField(default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.title


class ApplicationStatus(models.TextChoices):
    INELIGIBLE = "ineligible", "Ineligible"
    VOTING = "voting", "Voting"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class Application(models.Model):
    """An organisation asking to join; screened by the eligibility rules, then put to a vote."""

    network = models.ForeignKey(Network, on_delete=models.CASCADE, related_name="applications")
    organisation_name = models.CharField(max_length=200)
    country = models.CharField(max_length=2)
    legal_form = models.CharField(max_length=80)
    email = models.EmailField(max_length=254)
    message = models.TextField(blank=True)
    # The applicant when it already uses Salesline (applied while signed in), else made on approval.
    organisation = models.ForeignKey(
        "accounts.Organisation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=20, choices=ApplicationStatus.choices)
    reasons = models.JSONField(default=list, blank=True)  # why ineligible, or the outcome
    borderline = models.BooleanField(default=False)
    borderline_facts = models.TextField(blank=True)
    voting_closes_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    # How many member organisations the network had when the vote was decided: the tally is
    # frozen at the decision (the new member does not count as "not voted" afterwards).
    members_at_decision = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["status", "voting_closes_at"])]

    def __str__(self) -> str:
        return self.organisation_name


class Vote(models.Model):
    """One member organisation's vote on an application (one per member, a unique constraint)."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="votes")
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    voter = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    vote = models.CharField(max_length=3, choices=[("yes", "Yes"), ("no", "No")])
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["application", "organisation"], name="vote_once_per_member"
            )
        ]

    def __str__(self) -> str:
        return f"{self.organisation}: {self.vote}"
