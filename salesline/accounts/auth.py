"""Signing in by e-mail, whatever its case: "Ann@Example.com" and "ann@example.com" are one login.

New addresses are stored lower-cased (`UserManager.create_user`); users created before that may
hold a mixed-case address, and still sign in with it typed in any case. django-axes counts failed
attempts per the same folded address, so changing the case of an e-mail does not buy five more
guesses."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend

from .models import User


def email_key(email: object) -> str:
    """The form of an e-mail address that logins and lockouts compare."""
    return email.strip().lower() if isinstance(email, str) else ""


def user_by_email(email: str) -> User | None:
    """The user whose e-mail is `email` in any case: the exact address first, then the one
    address equal to it ignoring case (two such legacy users: neither, as the login is
    ambiguous)."""
    key = email_key(email)
    if not key:
        return None
    user = User.objects.filter(email=key).first()
    if user is not None:
        return user
    matches = list(User.objects.filter(email__iexact=key)[:2])
    return matches[0] if len(matches) == 1 else None


class EmailBackend(ModelBackend):
    """Django's model backend with a case-insensitive look-up of the e-mail."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        username = username if username is not None else kwargs.get(User.USERNAME_FIELD)
        if username is None or password is None:
            return None
        user = user_by_email(username)
        if user is None:
            # Hash anyway, so a wrong address takes as long as a wrong password.
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None


def lockout_username(request, credentials: dict | None) -> str | None:
    """AXES_USERNAME_CALLABLE: the folded e-mail of a sign-in attempt."""
    if credentials is not None:
        raw = credentials.get("username")
    else:
        raw = getattr(request, "data", request.POST).get("username")
    return email_key(raw) or None
