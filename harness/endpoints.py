"""The endpoints file: where a running environment's services are, as JSON (`topo gate --target endpoints:FILE`).

One field per `Endpoints` field (harness/pytest_plugin.py). The JSON Schema shipped in the package
(`harness/schema/endpoints.schema.json`, printed by `topo schema endpoints`) is generated from the dataclass and the
FIELDS table below — `python -m harness.endpoints` rewrites it, tests/test_endpoints_file.py fails when the three
drift apart.

Secrets need not sit in the file: each password is either a string, `{"env": "VAR"}` (read from the environment
when the file is loaded: a CI secret mapped into the job) or `{"file": "PATH"}` (a file's content, PATH relative to
the endpoints file; what `topo up` writes, pointing at .topo/secrets/). Loading validates with jsonschema and
reports every problem as `file:line:col: json.path: what; hint` — never a traceback.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, fields
from functools import lru_cache
from importlib import resources
from pathlib import Path

import jsonschema

from harness.errors import Problem, TopoError

SCHEMA_FILE = Path(__file__).parent / "schema" / "endpoints.schema.json"
MAX_BYTES = 64 * 1024  # a hand-written file of ~20 fields; anything near this is not an endpoints file

# host: a DNS name, an IPv4 address or a bracketed IPv6 address; port: 1-5 digits
_HOST = r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)"
_PORT = r"[0-9]{1,5}"
_HOSTPORT = f"{_HOST}:{_PORT}"
PATTERNS = {
    "url": rf"^$|^https?://{_HOST}(:{_PORT})?(/\S*)?$",
    "hostport": rf"^$|^{_HOSTPORT}$",
    "bootstrap": rf"^$|^{_HOSTPORT}(,{_HOSTPORT})*$",
    "host": rf"^$|^{_HOST}$",
    # a postgresql:// URI without a password in it, or libpq keyword=value pairs
    "dsn": rf"^$|^postgres(ql)?://([^\s:@/]+@)?{_HOST}(:{_PORT})?(/[^\s?]*)?(\?\S*)?$|^\s*[a-z_]+=\S+(\s+[a-z_]+=\S+)*\s*$",
}


@dataclass(frozen=True)
class Field:
    kind: str  # name | offset | bootstrap | mechanism | user | secret | url | dsn | host | port | hostport | text
    description: str
    example: object


FIELDS: dict[str, Field] = {
    "project": Field("name", "A name for the environment (locally: the compose project). Labels the report.",
                     "deml-staging"),
    "port_offset": Field("offset", "How far the local stack's published ports are shifted (0 for a deployed "
                                   "environment).", 0),
    "kafka_bootstrap": Field("bootstrap", "Kafka bootstrap servers, host:port[,host:port]. The broker's advertised "
                                          "listener must be reachable at the same address (through a tunnel: the "
                                          "same local port).", "127.0.0.1:19092"),
    "kafka_mechanism": Field("mechanism", "SASL mechanism of the Kafka users.", "SCRAM-SHA-256"),
    "kafka_app_user": Field("user", "The application's Kafka user (least privilege).", "deml-app"),
    "kafka_app_password": Field("secret", "Password of kafka_app_user.", {"env": "TOPO_KAFKA_APP_PASSWORD"}),
    "kafka_admin_user": Field("user", "The Kafka superuser (creates topics and ACLs).", "admin"),
    "kafka_admin_password": Field("secret", "Password of kafka_admin_user.", {"env": "TOPO_KAFKA_ADMIN_PASSWORD"}),
    "clickhouse_url": Field("url", "ClickHouse HTTP interface, http(s)://host:port/.", "http://127.0.0.1:8123/"),
    "clickhouse_user": Field("user", "ClickHouse user (HTTP basic auth).", "deml"),
    "clickhouse_password": Field("secret", "Password of clickhouse_user.", {"env": "TOPO_CLICKHOUSE_PASSWORD"}),
    "postgres_dsn": Field("dsn", "Postgres connection string WITHOUT the password: libpq keywords "
                                 "(`host=... port=... user=... dbname=...`) or a postgresql://user@host:port/db URI.",
                          "host=127.0.0.1 port=5432 user=deml dbname=deml sslmode=require"),
    "postgres_password": Field("secret", "Password of the Postgres user in postgres_dsn.",
                               {"env": "TOPO_POSTGRES_PASSWORD"}),
    "redis_host": Field("host", "Host of the Redis-protocol cache (Dragonfly); \"\" where it is not reachable.",
                        "127.0.0.1"),
    "redis_port": Field("port", "Port of the cache; 0 where it is not reachable.", 6379),
    "firebase_project": Field("text", "Firebase project id the app uses.", "demo-deml"),
    "firestore_host": Field("hostport", "Firestore (emulator) host:port, as FIRESTORE_EMULATOR_HOST.",
                            "127.0.0.1:8080"),
    "auth_host": Field("hostport", "Firebase Auth (emulator) host:port, as FIREBASE_AUTH_EMULATOR_HOST.",
                       "127.0.0.1:9099"),
    "functions_url": Field("url", "Base URL of the Cloud Functions (emulator); callables are under "
                                  "/PROJECT/REGION/NAME.", "http://127.0.0.1:5001"),
    "backend_url": Field("url", "Base URL of the backend API (where it is not public: the frontend's URL, which "
                                "proxies /api/*).", "https://deml-apps.abc123.us-east-1.cs.amazonlightsail.com"),
    "frontend_url": Field("url", "Base URL of the public frontend.",
                          "https://deml-apps.abc123.us-east-1.cs.amazonlightsail.com"),
}

_FORMAT = {"url": "uri", "hostport": "host:port", "bootstrap": "host:port[,host:port]", "host": "hostname",
           "dsn": "libpq connection string or postgresql:// URI"}
_JSON_TYPE = {int: "integer", "int": "integer", str: "string", "str": "string"}
_SECRET = {
    "type": ["string", "object"],
    "description": "a string, {\"env\": \"VAR\"} (read from the environment when the file is loaded) or "
                   "{\"file\": \"PATH\"} (the file's content; PATH relative to the endpoints file)",
    "properties": {
        "env": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$",
                "description": "name of an environment variable holding the secret"},
        "file": {"type": "string", "minLength": 1,
                 "description": "path of a file holding the secret, relative to the endpoints file"},
    },
    "additionalProperties": False,
    "minProperties": 1,
    "maxProperties": 1,
}


def _mechanisms() -> list[str]:
    """The SASL mechanisms topology.yaml allows (one source for both schemas)."""
    from harness.loader.schema import schema as topology_schema

    return topology_schema()["properties"]["kafka"]["properties"]["mechanism"]["enum"]


def build_schema() -> dict:
    """The schema from the Endpoints dataclass and FIELDS; raises if a field is in one and not the other."""
    from harness.pytest_plugin import Endpoints

    names = [f.name for f in fields(Endpoints)]
    missing, extra = [n for n in names if n not in FIELDS], [n for n in FIELDS if n not in names]
    if missing or extra:
        raise TopoError("harness/endpoints.py FIELDS and harness/pytest_plugin.py Endpoints differ: "
                        + "; ".join(filter(None, [missing and f"no schema entry for {', '.join(missing)}",
                                                  extra and f"no Endpoints field {', '.join(extra)}"])))
    props: dict = {"$schema": {"type": "string", "description": "optional: this schema's URL or path, for editors"}}
    for f in fields(Endpoints):
        spec, want = FIELDS[f.name], _JSON_TYPE.get(f.type)
        if spec.kind == "secret":
            p = dict(_SECRET)
        elif spec.kind in ("offset", "port"):
            p = {"type": "integer", "minimum": 0, "maximum": 65535}
        elif spec.kind == "mechanism":
            p = {"type": "string", "enum": _mechanisms()}
        elif spec.kind in PATTERNS:
            p = {"type": "string", "format": _FORMAT[spec.kind], "pattern": PATTERNS[spec.kind]}
            if spec.kind == "dsn":
                p["not"] = {"pattern": "(?i)password\\s*="}
        else:
            p = {"type": "string", "minLength": 1 if spec.kind == "name" else 0}
        if spec.kind != "secret" and p["type"] != want:
            raise TopoError(f"Endpoints.{f.name} is {f.type} but FIELDS says {spec.kind} ({p['type']})")
        props[f.name] = {"description": spec.description, **p, "examples": [spec.example]}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://topo.dev/schema/endpoints.schema.json",
        "title": "topo endpoints file",
        "description": "Where a running environment's services are, for `topo gate --target endpoints:FILE`. "
                       "Written for the local stack by `topo up` / `topo status --json` (.topo/endpoints.json); "
                       "printed by `topo schema endpoints`. Passwords: a string, {\"env\": \"VAR\"} or "
                       "{\"file\": \"PATH\"} — keep real ones out of the file. \"\" (0 for a port) marks a service "
                       "the environment does not expose. Keys starting with `_` are notes and ignored.",
        "type": "object",
        "required": [f.name for f in fields(Endpoints)],
        "properties": props,
        "patternProperties": {"^_": {"description": "a note for readers; ignored"}},
        "additionalProperties": False,
    }


@lru_cache(maxsize=1)
def schema() -> dict:
    return json.loads(resources.files("harness").joinpath("schema/endpoints.schema.json").read_text())


def schema_text() -> str:
    return json.dumps(schema(), indent=2) + "\n"


class EndpointsError(TopoError):
    """An endpoints file that cannot be used; carries every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=lambda p: (p.line, p.col, p.path))
        super().__init__("\n".join(str(p) for p in self.problems)
                         + f"\n{len(self.problems)} problem{'s' if len(self.problems) != 1 else ''} in the "
                           "endpoints file; `topo schema endpoints` prints its schema")


# ---- reading ------------------------------------------------------------------------------------------------------

def _marks(text: str, file: str) -> dict:
    """Line/column of every key path (JSON is YAML: the topology loader's marks serve); {} if it cannot."""
    from harness.loader.yamlmarks import load_yaml

    try:
        return load_yaml(text, file)[1]
    except TopoError:
        return {}


def _problem(error, file: str, marks: dict) -> Problem:
    from harness.loader.schema import _python_type, did_you_mean
    from harness.loader.yamlmarks import Mark, join

    path = ""
    for part in error.absolute_path:
        path = join(path, part)
    field = str(error.absolute_path[0]) if error.absolute_path else ""
    spec = FIELDS.get(field)
    v = error.validator

    def at(key: str, message: str, hint: str) -> Problem:
        probe = key
        while probe and probe not in marks:
            probe = probe.rsplit(".", 1)[0] if "." in probe else ""
        m = marks.get(probe) or marks.get("") or Mark(1, 1)
        return Problem(file, m.line, m.col, key or "(top level)", message, hint)

    example = f"e.g. {json.dumps(spec.example)}" if spec else ""
    if v == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        bad = [k for k in error.instance if k not in allowed and not k.startswith("_")]
        key = bad[0] if bad else "?"
        return at(join(path, key), f"unknown key '{key}'", did_you_mean(key, allowed)
                  or (f"allowed: {', '.join(allowed)}" if path else "remove it (a note? start its name with _)"))
    if v == "required":
        missing = [k for k in error.validator_value if k not in error.instance]
        return at(path, f"missing key '{missing[0]}'",
                  f"add \"{missing[0]}\": {json.dumps(FIELDS[missing[0]].example) if missing[0] in FIELDS else '...'}"
                  f" ({FIELDS[missing[0]].description if missing[0] in FIELDS else ''})")
    if v == "type":
        want = error.validator_value
        words = {"string": "a string", "integer": "a whole number", "object": "an object"}
        want = " or ".join(words.get(w, w) for w in (want if isinstance(want, list) else [want]))
        return at(path, f"expected {want}, got {_python_type(error.instance)}", example or "change the value's type")
    if v == "pattern" and spec and spec.kind in _FORMAT:
        return at(path, f"{json.dumps(error.instance)} is not a {_FORMAT[spec.kind]}", example)
    if v == "pattern":
        return at(path, f"{json.dumps(error.instance)} is not a variable name", "use letters, digits and _")
    if v == "not":
        return at(path, "the connection string holds a password",
                  "remove it from postgres_dsn and give it in postgres_password (e.g. {\"env\": \"TOPO_POSTGRES_PASSWORD\"})")
    if v == "enum":
        return at(path, f"{json.dumps(error.instance)} is not allowed",
                  did_you_mean(error.instance, error.validator_value)
                  or f"use one of: {', '.join(map(str, error.validator_value))}")
    if v in ("minProperties", "maxProperties"):
        return at(path, "a secret reference needs exactly one of env, file", example)
    if v in ("minimum", "maximum"):
        return at(path, f"{error.instance} is out of range", "use 0-65535")
    if v == "minLength":
        return at(path, "is empty", example)
    return at(path, error.message, "see `topo schema endpoints`")


def _secret(field: str, value, file: Path, marks: dict) -> tuple[str, Problem | None]:
    from harness.loader.yamlmarks import Mark

    if isinstance(value, str):
        return value, None
    (how, name), = value.items()
    m = marks.get(f"{field}.{how}") or marks.get(field) or Mark(1, 1)
    if how == "env":
        got = os.environ.get(name)
        if got:
            return got, None
        return "", Problem(str(file), m.line, m.col, f"{field}.env",
                           f"environment variable {name} is {'empty' if got == '' else 'not set'}",
                           f"export {name} before running topo (in CI: map a secret into the job's environment)")
    path = (file.parent / name) if not Path(name).is_absolute() else Path(name)
    try:
        return path.read_text().strip("\n"), None
    except OSError as exc:
        return "", Problem(str(file), m.line, m.col, f"{field}.file", f"cannot read {path}: {exc.strerror}",
                           "the path is relative to the endpoints file; is the stack up (`topo up`)?")


def load(path: str | Path) -> "Endpoints":  # noqa: F821 — harness.pytest_plugin.Endpoints
    """Read, validate and resolve an endpoints file; raise EndpointsError naming file:line:col on any problem."""
    from harness.pytest_plugin import Endpoints

    file = Path(path)
    try:
        with file.open("rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise EndpointsError([Problem(str(file), 1, 1, "", f"cannot read the endpoints file: {exc.strerror}",
                                      "write one with `topo up` (.topo/endpoints.json) or from "
                                      "examples/endpoints-aws/endpoints.json")]) from None
    if len(raw) > MAX_BYTES:
        raise EndpointsError([Problem(str(file), 1, 1, "", f"larger than {MAX_BYTES // 1024} KiB",
                                      "is this the endpoints file?")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EndpointsError([Problem(str(file), 1, 1, "", f"not UTF-8 text (byte {exc.start})",
                                      "save the file as UTF-8")]) from None
    dupes: list[str] = []

    def no_dupes(pairs):
        seen = {}
        for k, v in pairs:
            if k in seen:
                dupes.append(k)
            seen[k] = v
        return seen

    try:
        data = json.loads(text, object_pairs_hook=no_dupes)
    except json.JSONDecodeError as exc:
        raise EndpointsError([Problem(str(file), exc.lineno, exc.colno, "", f"not JSON: {exc.msg}",
                                      "check the quotes and commas here (JSON has no comments; a note is a key "
                                      "starting with _)")]) from None
    marks = _marks(text, str(file))
    problems = [Problem(str(file), *(lambda m: (m.line, m.col) if m else (1, 1))(marks.get(k)), k,
                        f"duplicate key '{k}'", "keep one") for k in dupes]
    if not isinstance(data, dict):
        raise EndpointsError([Problem(str(file), 1, 1, "(top level)", "the file must be a JSON object of fields",
                                      "see examples/endpoints-aws/endpoints.json or `topo schema endpoints`")])
    validator = jsonschema.Draft202012Validator(schema())
    problems += [_problem(e, str(file), marks) for e in validator.iter_errors(data)]
    if problems:
        raise EndpointsError(problems)
    values = {}
    for f in fields(Endpoints):
        if FIELDS[f.name].kind == "secret":
            values[f.name], problem = _secret(f.name, data[f.name], file, marks)
            if problem:
                problems.append(problem)
        else:
            values[f.name] = data[f.name]
    if problems:
        raise EndpointsError(problems)
    return Endpoints(**values)


# ---- writing ------------------------------------------------------------------------------------------------------

def document(endpoints, secret_refs: dict[str, dict] | None = None) -> dict:
    """The file's content for an Endpoints value; secret_refs replaces password values by {"file"/"env": ...}."""
    from dataclasses import asdict

    doc = asdict(endpoints)
    for name, ref in (secret_refs or {}).items():
        doc[name] = ref
    errors = sorted(jsonschema.Draft202012Validator(schema()).iter_errors(doc), key=str)
    if errors:  # a bug in topo, not in the user's input: say which field
        raise TopoError(f"the endpoints topo built do not match its own schema: {errors[0].json_path}: "
                        f"{errors[0].message}")
    return doc


def write(path: Path, doc: dict) -> Path:
    """Write the file 0600 (created that way, never briefly world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(doc, indent=2) + "\n")
    os.chmod(path, 0o600)  # an existing file keeps its mode through O_CREAT
    return path


def default_path(stack) -> Path:
    """.topo/endpoints.json for the default project; .topo/endpoints-PROJECT.json for any other."""
    default = stack.host_class().default_project(stack.topology)
    name = "endpoints.json" if stack.project == default else f"endpoints-{stack.project}.json"
    return stack.root / ".topo" / name


def write_for_stack(stack, path: Path | None = None) -> Path:
    """The endpoints file of a running local stack; passwords as {"file": ...} into .topo/secrets/, never values."""
    from harness.pytest_plugin import endpoints_of
    from harness.runtime.secrets import state_dir

    path = path or default_path(stack)
    endpoints = endpoints_of(stack)
    by_value = {v: n for n, v in stack.secrets.items() if v}
    refs = {}
    for name, spec in FIELDS.items():
        value = getattr(endpoints, name)
        if spec.kind == "secret" and value in by_value:
            secret_file = state_dir(stack.root) / "secrets" / by_value[value]
            refs[name] = {"file": os.path.relpath(secret_file, path.parent)}
    return write(path, document(endpoints, refs))


if __name__ == "__main__":  # regenerate the shipped schema
    SCHEMA_FILE.write_text(json.dumps(build_schema(), indent=2) + "\n")
    print(f"wrote {SCHEMA_FILE}")
