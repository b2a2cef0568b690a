"""deml.config: the environment contract (load, VAR_FILE, present, NEEDS)."""
from __future__ import annotations

import json

import pytest

from deml import cli, config
from deml.config import CONTRACT, NEEDS, MissingConfig


def full_env(role: str) -> dict:
    return {name: f"value-of-{name.lower()}" for name in NEEDS[role]}


@pytest.mark.parametrize("role", sorted(NEEDS))
def test_load_with_every_needed_variable(role):
    cfg = config.load(role, full_env(role))
    assert cfg.role == role
    assert {name: cfg[name] for name in NEEDS[role]} == full_env(role)
    assert set(cfg.values) == set(NEEDS[role])  # absent contract variables are not carried as None/""


@pytest.mark.parametrize("role", sorted(NEEDS))
def test_load_with_empty_env_names_every_missing_variable(role):
    with pytest.raises(MissingConfig) as exc:
        config.load(role, {})
    assert isinstance(exc.value, SystemExit)
    message = exc.value.code
    assert isinstance(message, str) and message.startswith(f"deml {role}: missing environment variable(s): ")
    for name in NEEDS[role]:
        assert name in message


@pytest.mark.parametrize("role,drop", [(role, name) for role in sorted(NEEDS) for name in NEEDS[role]])
def test_load_names_exactly_the_one_missing_variable(role, drop):
    env = full_env(role)
    del env[drop]
    with pytest.raises(MissingConfig) as exc:
        config.load(role, env)
    listed = exc.value.code.split("missing environment variable(s): ")[1].split(" (")[0]
    assert listed == drop


def test_empty_string_counts_as_missing():
    env = full_env("frontend") | {"BACKEND_URL": ""}
    with pytest.raises(MissingConfig, match="BACKEND_URL"):
        config.load("frontend", env)


def test_var_file_is_read_and_stripped(tmp_path):
    secret = tmp_path / "DATABASE_PASSWORD"
    secret.write_text("s3cret-from-file\n", encoding="utf-8")
    env = full_env("backend")
    del env["DATABASE_PASSWORD"]
    env["DATABASE_PASSWORD_FILE"] = str(secret)
    assert config.load("backend", env)["DATABASE_PASSWORD"] == "s3cret-from-file"


def test_var_takes_precedence_over_var_file(tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("from-file", encoding="utf-8")
    env = full_env("backend") | {"DATABASE_PASSWORD": "from-env", "DATABASE_PASSWORD_FILE": str(secret)}
    assert config.load("backend", env)["DATABASE_PASSWORD"] == "from-env"


@pytest.mark.parametrize("make_path", [lambda d: d / "absent", lambda d: d])  # missing file; a directory
def test_unreadable_var_file_exits_naming_the_variable(tmp_path, make_path):
    env = full_env("backend")
    del env["DATABASE_PASSWORD"]
    env["DATABASE_PASSWORD_FILE"] = str(make_path(tmp_path))
    with pytest.raises(SystemExit) as exc:
        config.load("backend", env)
    assert not isinstance(exc.value, MissingConfig)
    assert "DATABASE_PASSWORD_FILE=" in exc.value.code and "cannot read" in exc.value.code


def test_present_lists_names_only():
    env = {"DATABASE_URL": "postgres://u:hunter2@db/app", "REDPANDA_SASL_PASSWORD_FILE": "/run/secrets/rp-pass",
           "CLICKHOUSE_USER": "", "NOT_IN_CONTRACT": "x"}
    got = config.present(env)
    assert list(got) == list(CONTRACT)
    assert {k for k, v in got.items() if v} == {"DATABASE_URL", "REDPANDA_SASL_PASSWORD"}
    text = json.dumps(got)
    for secret in ("hunter2", "postgres://", "/run/secrets", "NOT_IN_CONTRACT"):
        assert secret not in text


def test_needs_of_every_role_is_a_subset_of_the_contract():
    assert set(NEEDS) == set(cli.ROLES)
    for role, names in NEEDS.items():
        assert set(names) <= set(CONTRACT), (role, set(names) - set(CONTRACT))
        assert len(names) == len(set(names)), role
