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


def check_deploy(**overrides: str) -> subprocess.CompletedProcess:
    """`manage.py check --deploy` with the production settings, failing on warnings too."""
    env = deployment_environment(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY="x" * 20 + "-a-long-random-production-secret-for-the-check-only",
        ALLOWED_HOSTS="crm.example.org",
        **overrides,
    )
    return subprocess.run(
        [sys.executable, "-m", "django", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_production_settings_pass_check_deploy():
    result = check_deploy()
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


PRINT_CACHE = (
    "import django; django.setup(); from django.conf import settings; "
    "print(settings.CACHES['default']['BACKEND'], settings.CACHES['default']['LOCATION'])"
)


def production_python(code: str, **environment: str) -> subprocess.CompletedProcess:
    env = deployment_environment(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY="x" * 20 + "-a-long-random-production-secret-for-the-check-only",
        **environment,
    )
    if "CACHE_URL" not in environment:
        env.pop("CACHE_URL", None)  # the default, whatever the shell running the tests has
    return subprocess.run(  # noqa: S603 - this interpreter, the tests' own code
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )


def test_production_shares_the_database_cache_by_default():
    result = production_python(PRINT_CACHE)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["salesline.core.cache.DatabaseCache", "salesline_cache"]


def test_cache_url_chooses_redis_in_production():
    result = production_python(PRINT_CACHE, CACHE_URL="redis://cache.internal:6379/1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.core.cache.backends.redis.RedisCache",
        "redis://cache.internal:6379/1",
    ]


def test_production_passes_check_deploy_with_redis_too():
    result = check_deploy(CACHE_URL="redis://127.0.0.1:6379/15")
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_unknown_cache_scheme_is_refused_at_start_up():
    result = production_python(PRINT_CACHE, CACHE_URL="memcached://:hunter2@cache.internal:11211")
    assert result.returncode != 0
    assert "ImproperlyConfigured: CACHE_URL: the scheme 'memcached' is not a cache" in result.stderr
    assert "db://[TABLE], redis://HOST[:PORT][/DB], rediss://… or locmem://" in result.stderr
    assert "hunter2" not in result.stderr


def test_secret_key_fallbacks_come_from_the_environment():
    result = production_python(
        "from django.conf import settings; print(settings.SECRET_KEY_FALLBACKS)",
        SECRET_KEY_FALLBACKS=" " + "o" * 60 + ", " + "p" * 60 + ",",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(["o" * 60, "p" * 60])
