"""First pass: the JSON Schema shipped in the package, with errors turned into located, actionable problems."""
from __future__ import annotations

import difflib
import json
from functools import lru_cache
from importlib import resources

import jsonschema
from jsonschema.exceptions import best_match

from harness.errors import Problem
from harness.loader.yamlmarks import Mark, join

TYPE_WORDS = {"object": "a mapping (key: value)", "array": "a list", "string": "a string", "integer": "a whole number",
              "number": "a number", "boolean": "true or false", "null": "nothing"}


@lru_cache(maxsize=1)
def schema() -> dict:
    return json.loads(resources.files("harness").joinpath("schema/topology.schema.json").read_text())


def schema_text() -> str:
    return json.dumps(schema(), indent=2) + "\n"


def _python_type(value) -> str:
    if value is None:
        return "nothing (the key has no value)"
    for name, py in (("true or false", bool), ("a whole number", int), ("a number", float), ("a string", str),
                     ("a list", list), ("a mapping", dict)):
        if isinstance(value, py):
            return f"{name} ({json.dumps(value, default=str)[:40]})" if not isinstance(value, (list, dict)) else name
    return type(value).__name__


def did_you_mean(word: str, choices) -> str:
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""


def _path(error) -> str:
    path = ""
    for part in error.absolute_path:
        path = join(path, part)
    return path


def _allowed(error) -> list[str]:
    return sorted(error.schema.get("properties", {}).keys())


def _problems(error, file: str, marks: dict[str, Mark]) -> list[Problem]:
    path = _path(error)

    def at(key: str, message: str, hint: str = "") -> Problem:
        probe = key
        while probe not in marks and probe:
            probe = probe.rsplit(".", 1)[0] if "." in probe else ""
        m = marks.get(probe) or marks.get("", Mark(1, 1))
        return Problem(file, m.line, m.col, key or "(top level)", message, hint)

    v = error.validator
    if v == "oneOf" and error.context:
        # placement.aws: either the word `lightsail` or a mapping; report the branch matching the value's shape
        # (by the value's type: a mapping is judged against the mapping branch, a word against the word branch)
        branches = error.validator_value if isinstance(error.validator_value, list) else []
        want = "object" if isinstance(error.instance, dict) else "string"
        index = next((i for i, b in enumerate(branches) if isinstance(b, dict) and (
            b.get("type") == want or (want == "string" and ("enum" in b or "const" in b)))), None)
        chosen = [e for e in error.context if e.relative_schema_path and e.relative_schema_path[0] == index]
        if chosen:
            return [p for e in chosen for p in _problems(e, file, marks)]
        branch = [e for e in error.context if e.validator != "type" and e.validator != "enum"] or list(error.context)
        return _problems(best_match(branch), file, marks)
    if v == "additionalProperties":
        allowed = _allowed(error)
        patterns = error.schema.get("patternProperties", {})
        import re
        out = []
        for key in error.instance:
            if key in allowed or any(re.search(p, key) for p in patterns):
                continue
            hint = did_you_mean(key, allowed) or (f"allowed keys: {', '.join(allowed)}" if allowed else "remove it")
            out.append(at(join(path, key), f"unknown key '{key}'", hint))
        return out
    if v == "required":
        missing = [k for k in error.validator_value if k not in error.instance]
        # a misspelt key already gets "unknown key ...; did you mean"; don't also report the key it should have been
        missing = [k for k in missing if not difflib.get_close_matches(k, [str(x) for x in error.instance], n=1, cutoff=0.6)]
        return [at(path, f"missing required key '{k}'", f"add `{k}:` here") for k in missing]
    if v == "type":
        want = error.validator_value
        want = " or ".join(TYPE_WORDS.get(w, w) for w in (want if isinstance(want, list) else [want]))
        return [at(path, f"expected {want}, got {_python_type(error.instance)}", "change the value's type")]
    if v == "enum":
        choices = error.validator_value
        hint = did_you_mean(error.instance, choices) or f"use one of: {', '.join(map(str, choices))}"
        return [at(path, f"'{error.instance}' is not allowed", hint)]
    if v == "const":
        return [at(path, f"'{error.instance}' is not supported", f"write {json.dumps(error.validator_value)}")]
    if v == "pattern":
        return [at(path, f"'{error.instance}' does not match {error.validator_value}",
                   "use lowercase letters, digits and hyphens" if "a-z" in error.validator_value else "fix the value")]
    if v == "propertyNames":
        bad = error.instance
        return [at(join(path, bad) if isinstance(bad, str) else path, f"the name '{bad}' is not allowed",
                   f"names must match {error.schema.get('pattern', '')}")]
    if v in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        words = {"minimum": "at least", "maximum": "at most", "exclusiveMinimum": "more than",
                 "exclusiveMaximum": "less than"}
        return [at(path, f"{error.instance} is out of range", f"use a value {words[v]} {error.validator_value}")]
    if v in ("minItems", "minProperties"):
        return [at(path, "is empty", f"give at least {error.validator_value} entr{'y' if error.validator_value == 1 else 'ies'}")]
    if v == "maxProperties":
        return [at(path, f"has {len(error.instance)} entries, at most {error.validator_value} allowed",
                   "keep only one of: " + ", ".join(sorted(error.instance)))]
    return [at(path, error.message, "see `topo schema`")]


def validate_schema(data, file: str, marks: dict[str, Mark]) -> list[Problem]:
    validator = jsonschema.Draft202012Validator(schema())
    out: list[Problem] = []
    seen = set()
    for error in validator.iter_errors(data):
        for p in _problems(error, file, marks):
            if (p.line, p.col, p.path, p.message) not in seen:
                seen.add((p.line, p.col, p.path, p.message))
                out.append(p)
    return out
