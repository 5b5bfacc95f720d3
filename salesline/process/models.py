"""The process definition in force per organisation, and the custom fields it declares.

Their tables keep the names they had when pipeline and records held them."""

from django.db import models
from django.utils import timezone


class ProcessDefinition(models.Model):
    """One loaded version of an organisation's process definition; the newest one is in force."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    version = models.PositiveIntegerField()
    source = models.TextField()
    spec = models.JSONField()
    loaded_at = models.DateTimeField(default=timezone.now)
    loaded_by = models.CharField(max_length=254)

    class Meta:
        db_table = "pipeline_processdefinition"
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "version"], name="definition_unique_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id} v{self.version}"


class CustomField(models.Model):
    """A custom field declared by an organisation's process definition."""

    class Type(models.TextChoices):
        TEXT = "text"
        NUMBER = "number"
        DATE = "date"
        CHOICE = "choice"
        BOOLEAN = "boolean"

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    record = models.CharField(max_length=20)
    key = models.CharField(max_length=60)
    label = models.CharField(max_length=120)
    type = models.CharField(max_length=10, choices=Type.choices)
    choices = models.JSONField(default=list, blank=True)
    help = models.CharField(max_length=255, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "records_customfield"
        ordering = ["record", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "record", "key"], name="custom_field_unique_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.record}.{self.key}"
