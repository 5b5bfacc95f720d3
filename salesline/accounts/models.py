from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    SALESPERSON = "salesperson", "Salesperson"
    SALES_COORDINATOR = "sales_coordinator", "Sales coordinator"
    PROJECT_LEADER = "project_leader", "Project leader"
    CUSTOMER_SERVICE = "customer_service", "Customer service"
    INSIDE_SALES = "inside_sales", "Inside sales"
    PROMOTIONS_COORDINATOR = "promotions_coordinator", "Promotions coordinator"
    SALES_SUPPORT_MANAGER = "sales_support_manager", "Sales-support manager"
    # Inside sales escalates a complex job to them (seed 004).
    SPECIAL_PROJECTS_COORDINATOR = "special_projects_coordinator", "Special-projects coordinator"


class Organisation(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    template = models.CharField(max_length=80, blank=True)
    # The country phone numbers without "+<country code>" are read in, on every write and as
    # an import's default region (two letters, e.g. GB); blank: only numbers with a "+".
    phone_region = models.CharField(max_length=2, blank=True, default="")
    # Whose public holidays are not working days for due dates (two letters; blank: the phone
    # region's).
    country = models.CharField(max_length=2, blank=True, default="")
    # Merge fields of canned messages: {{ links.booking }} and the default From address.
    booking_url = models.URLField(max_length=500, blank=True, default="")
    from_email = models.EmailField(max_length=254, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name


class UserManager(BaseUserManager["User"]):
    def create_user(self, email: str, password: str | None = None, **extra):
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra):
        return self.create_user(email, password, is_staff=True, is_superuser=True, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in. E-mail is the login; organisations come through memberships."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"

    def __str__(self) -> str:
        return self.email


class Membership(models.Model):
    """One role of a user in an organisation; a user with two roles has two rows."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=40, choices=Role.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organisation", "role"], name="membership_unique_role"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organisation} ({self.role})"


class ApiToken(models.Model):
    """A bearer token for one user in one organisation. Only its SHA-256 is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=16, db_index=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


class Coordination(models.Model):
    """A sales coordinator owns a salesperson's calendar (seed 004: one coordinator per
    salesperson). A salesperson has at most one coordinator in an organisation; a coordinator
    may coordinate several salespeople."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="coordinations"
    )
    coordinator = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    salesperson = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "salesperson"], name="coordination_one_per_salesperson"
            )
        ]
        indexes = [models.Index(fields=["organisation", "coordinator"])]

    def __str__(self) -> str:
        return f"{self.coordinator} coordinates {self.salesperson}"
