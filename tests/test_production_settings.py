"""Production settings must pass Django's deployment checklist."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def deployment_environment(**overrides: str) -> dict[str, str]:
    """The test runner's environment without what only the browser tests set (the deployment
    check rightly refuses DJANGO_ALLOW_ASYNC_UNSAFE)."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return {**env, **overrides}


def test_production_settings_pass_check_deploy():
    env = deployment_environment(
        **{
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "SECRET_KEY": "x" * 20 + "-a-long-random-production-secret-for-the-check-only",
            "ALLOWED_HOSTS": "crm.example.org",
        }
    )
    result = subprocess.run(
        [sys.executable, "-m", "django", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_refuse_to_start_without_a_secret_key():
    env = {k: v for k, v in deployment_environment().items() if k != "SECRET_KEY"}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.production"
    result = subprocess.run(
        [sys.executable, "-m", "django", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "KeyError" not in result.stderr
    assert "ImproperlyConfigured: SECRET_KEY is not set" in result.stderr
    assert "secrets.token_urlsafe(50)" in result.stderr


def test_a_blank_secret_key_is_refused_too():
    env = deployment_environment(
        DJANGO_SETTINGS_MODULE="config.settings.production", SECRET_KEY="  "
    )
    result = subprocess.run(
        [sys.executable, "-m", "django", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_secret_key_fallbacks_come_from_the_environment():
    env = deployment_environment(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY="n" * 60,
        SECRET_KEY_FALLBACKS=" " + "o" * 60 + ", " + "p" * 60 + ",",
    )
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from django.conf import settings; print(settings.SECRET_KEY_FALLBACKS)",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(["o" * 60, "p" * 60])
