"""Settings read from the environment: refuse unsafe production settings, parse DATABASE_URL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DUMP = (
    "import json, psp_crm.settings as s; "
    "db = dict(s.DATABASES['default']); db['NAME'] = str(db['NAME']); "
    "db['TEST'] = {k: str(v) for k, v in db.get('TEST', {}).items()}; "
    "print(json.dumps({'db': db, 'debug': s.DEBUG, 'layer': s.CHANNEL_LAYERS['default']['BACKEND'],"
    " 'cookie_secure': s.SESSION_COOKIE_SECURE}, default=str))"
)
CLEARED = (
    "SECRET_KEY",
    "DEBUG",
    "DATABASE_URL",
    "TEST_DATABASE_NAME",
    "DB_CONN_MAX_AGE",
    "REDIS_URL",
    "PSP_TESTING",
)


def run_settings(tmp_path, code: str = "import psp_crm.settings", **env: str):
    environ = {k: v for k, v in os.environ.items() if k not in CLEARED}
    environ.update({"PSP_VAR_DIR": str(tmp_path), **env})
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )


def settings_of(tmp_path, **env: str) -> dict:
    result = run_settings(tmp_path, DUMP, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_debug_off_with_the_default_secret_key_refuses_to_start(tmp_path):
    result = run_settings(tmp_path, DEBUG="false")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr


def test_debug_off_with_a_secret_key_imports(tmp_path):
    values = settings_of(tmp_path, DEBUG="false", SECRET_KEY="x" * 50)
    assert values["debug"] is False
    assert values["cookie_secure"] is True


@pytest.mark.parametrize("value", ["", "true", "1", "yes"])
def test_debug_on_accepts_the_development_key(tmp_path, value):
    assert settings_of(tmp_path, DEBUG=value)["debug"] is True


def test_default_database_is_sqlite_in_the_var_dir(tmp_path):
    db = settings_of(tmp_path)["db"]
    assert db["ENGINE"] == "django.db.backends.sqlite3"
    assert Path(db["NAME"]) == tmp_path / "db.sqlite3"


def test_database_url_is_parsed(tmp_path):
    db = settings_of(
        tmp_path, DATABASE_URL="postgres://psp:s3cret@db.example:6543/psp_prod", DB_CONN_MAX_AGE="5"
    )["db"]
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["NAME"], db["USER"], db["PASSWORD"]) == ("psp_prod", "psp", "s3cret")
    assert (db["HOST"], int(db["PORT"])) == ("db.example", 6543)
    assert db["CONN_MAX_AGE"] == 5
    assert db["TEST"] == {"NAME": "test_psp_prod"}


def test_test_database_name_can_be_chosen(tmp_path):
    db = settings_of(
        tmp_path,
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/psp",
        TEST_DATABASE_NAME="ci_run_42",
    )["db"]
    assert db["TEST"] == {"NAME": "ci_run_42"}


def test_redis_url_switches_the_channel_layer(tmp_path):
    assert settings_of(tmp_path)["layer"] == "channels.layers.InMemoryChannelLayer"
    layer = settings_of(tmp_path, REDIS_URL="redis://127.0.0.1:6379/9")["layer"]
    assert layer == "channels_redis.pubsub.RedisPubSubChannelLayer"
