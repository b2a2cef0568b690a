"""The environment contract. Every process reads its configuration here, and only here.

A missing variable stops the process at start with a message naming it. A secret VAR may be given as
VAR_FILE (a path, e.g. /run/secrets/NAME) — the value is then read from that file.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass

CONTRACT = (
    "DATABASE_URL", "DATABASE_PASSWORD",
    "REDPANDA_BROKERS", "REDPANDA_SASL_USERNAME", "REDPANDA_SASL_PASSWORD", "REDPANDA_SASL_MECHANISM",
    "CLICKHOUSE_URL", "CLICKHOUSE_USER", "CLICKHOUSE_PASSWORD", "CLICKHOUSE_DATABASE",
    "DRAGONFLY_HOST", "FRONTEND_URL", "BACKEND_URL", "MARKETING_URL",
    "FIREBASE_PROJECT", "FIRESTORE_EMULATOR_HOST", "FIREBASE_AUTH_EMULATOR_HOST",
)

# what each role needs (a subset of the contract)
NEEDS = {
    "backend": ("DATABASE_URL", "DATABASE_PASSWORD", "FIREBASE_PROJECT", "FIREBASE_AUTH_EMULATOR_HOST"),
    "frontend": ("BACKEND_URL", "FIREBASE_PROJECT", "FIRESTORE_EMULATOR_HOST"),
    "daemon": ("DATABASE_URL", "DATABASE_PASSWORD", "REDPANDA_BROKERS", "REDPANDA_SASL_USERNAME",
               "REDPANDA_SASL_PASSWORD", "REDPANDA_SASL_MECHANISM", "CLICKHOUSE_URL", "CLICKHOUSE_USER",
               "CLICKHOUSE_PASSWORD", "BACKEND_URL"),
    "telemetry-worker": ("REDPANDA_BROKERS", "REDPANDA_SASL_USERNAME", "REDPANDA_SASL_PASSWORD",
                         "REDPANDA_SASL_MECHANISM", "CLICKHOUSE_URL", "CLICKHOUSE_USER", "CLICKHOUSE_PASSWORD",
                         "CLICKHOUSE_DATABASE", "DRAGONFLY_HOST", "FIREBASE_PROJECT", "FIRESTORE_EMULATOR_HOST"),
    "workers": ("REDPANDA_BROKERS", "REDPANDA_SASL_USERNAME", "REDPANDA_SASL_PASSWORD", "REDPANDA_SASL_MECHANISM",
                "CLICKHOUSE_URL", "CLICKHOUSE_USER", "CLICKHOUSE_PASSWORD", "CLICKHOUSE_DATABASE",
                "FIREBASE_PROJECT", "FIRESTORE_EMULATOR_HOST"),
}


class MissingConfig(SystemExit):
    def __init__(self, role: str, missing: list[str]):
        super().__init__(f"deml {role}: missing environment variable(s): {', '.join(missing)} "
                         "(see the environment contract in topology.yaml; secrets may be given as VAR_FILE)")


def value(name: str, env: dict | None = None) -> str | None:
    env = os.environ if env is None else env
    if env.get(name):
        return env[name]
    path = env.get(f"{name}_FILE")
    if path:
        try:
            with open(path, encoding="utf-8") as f:
                return f.read().strip()
        except OSError as exc:
            raise SystemExit(f"{name}_FILE={path}: cannot read ({exc.strerror})") from None
    return None


def present(env: dict | None = None) -> dict[str, bool]:
    """Which contract variables are present (names only, never values)."""
    env = os.environ if env is None else env
    return {name: bool(env.get(name) or env.get(f"{name}_FILE")) for name in CONTRACT}


@dataclass(frozen=True)
class Config:
    role: str
    values: dict

    def __getitem__(self, name: str) -> str:
        return self.values[name]

    def get(self, name: str, default: str = "") -> str:
        return self.values.get(name) or default


def load(role: str, env: dict | None = None) -> Config:
    needed = NEEDS[role]
    values = {name: value(name, env) for name in CONTRACT}
    missing = [name for name in needed if not values.get(name)]
    if missing:
        raise MissingConfig(role, missing)
    return Config(role, {k: v for k, v in values.items() if v})


def tunable(name: str, default: float) -> float:
    """Non-contract knobs (intervals, batch sizes) with defaults; invalid values stop the process."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        return float(raw)
    except ValueError:
        print(f"{name}={raw!r} is not a number", file=sys.stderr)
        raise SystemExit(2) from None
