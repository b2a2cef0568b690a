"""Secrets: no value in rendered files or image labels; in `docker inspect`, only what the topology lets each service
see on this target.

Every secret is checked, short ones included: a value of at least MIN_SUBSTRING characters is found anywhere
(substring); a shorter one would match by chance inside unrelated text, so it is matched only as a whole token in
files and as a whole value (`NAME=value`, a whole command argument, a whole label) in `docker inspect`.
"""
from __future__ import annotations

import json
import re
from typing import Iterator, Mapping

import pytest

from harness.testing import run

pytestmark = pytest.mark.control

MIN_SUBSTRING = 8  # shorter values are matched only whole (see the module docstring)

def secret_values(stack) -> dict[str, str]:
    """Every secret of the stack, short ones included (they are matched whole, see `occurs_in_text`)."""
    return dict(stack.secrets)


def occurs_in_text(value: str, text: str) -> bool:
    if len(value) >= MIN_SUBSTRING:
        return value in text
    return re.search(rf"(?<![\w.+/~-]){re.escape(value)}(?![\w.+/~-])", text) is not None


def check_no_value(where: str, text: str, values: dict[str, str]) -> None:
    empty = [name for name, value in values.items() if not value]
    assert not empty, f"secret(s) {', '.join(empty)} have an empty value: nothing to keep secret, nothing to check"
    leaked = [name for name, value in values.items() if occurs_in_text(value, text)]
    assert not leaked, f"{where} contains the value of {', '.join(leaked)}"


def test_no_secret_value_in_rendered_files(stack):
    """No secret value appears in any rendered file (compose, AWS inputs, the stack's own compose file)."""
    values = secret_values(stack)
    assert values, "the topology declares no secret: nothing was checked"
    files = [stack.compose_file] + list((stack.root / "compose").glob("*.yml")) + list((stack.root / "deploy").rglob("*.json"))
    for f in files:
        check_no_value(str(f.relative_to(stack.root)), f.read_text(), values)


def test_no_secret_value_in_image_labels(stack):
    """No secret value appears in the labels or environment baked into any image of the topology."""
    values = secret_values(stack)
    assert values and stack.topology.images, "no secret or no image: nothing was checked"
    for image in stack.topology.images.values():
        config = json.loads(run(["docker", "image", "inspect", image.ref]).stdout)[0]["Config"]
        check_no_value(f"image {image.ref}", json.dumps([config.get("Labels"), config.get("Env")]), values)


# ---- what docker inspect may show, per service and target -------------------------------------------------------

def _with_ingredients(topology, names) -> set[str]:
    """Declared secrets and, transitively, the secrets their templates are built from (their values are inside)."""
    out, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in out:
            continue
        out.add(name)
        sec = topology.secrets.get(name)
        todo += [u for u in (sec.uses if sec else ()) if u in topology.secrets]
    return out


def allowed_visible(topology, target: str) -> dict[str, set[str]]:
    """Per service, the secrets whose value may appear in its `docker inspect` on `target`, from the topology's
    declarations (each service's `secrets` and `secrets_as`) and the host's mechanism (`Host.passes_secret_values`) — never from
    what a running container shows."""
    from harness.testing import host

    mechanism = host(target)()  # TopoError naming the runnable hosts for any other name
    allowed = {}
    for s in topology.services:
        declared = [secret for _var, secret in s.secrets]
        passes_values = mechanism.passes_secret_values(s)
        allowed[s.name] = _with_ingredients(topology, declared) if passes_values else set()
    return allowed


def _strings(node, path: str = "") -> Iterator[tuple[str, str]]:
    """(path, string) for every string in a parsed `docker inspect` (keys of mappings included, e.g. labels)."""
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, Mapping):
        for k, v in node.items():
            yield f"{path}.{k}" if path else str(k), str(k)
            yield from _strings(v, f"{path}.{k}" if path else str(k))
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            yield from _strings(v, f"{path}[{i}]")


def _where_visible(value: str, inspect: dict) -> str:
    """Where `value` shows in an inspect document ('' if nowhere). Env entries are named by variable, never value."""
    for path, text in _strings(inspect):
        if len(value) >= MIN_SUBSTRING:
            hit = value in text
        else:  # whole values only: NAME=value, a whole argument or label
            hit = text == value or ("=" in text and text.split("=", 1)[1] == value)
        if hit:
            if path.startswith("Config.Env[") and "=" in text:
                return f"Config.Env {text.split('=', 1)[0]}"
            return path
    return ""


def check_secret_exposure(topology, target: str, values: Mapping[str, str], inspects: Mapping[str, dict]) -> dict:
    """Fail on any secret value visible in a service's `docker inspect` that `allowed_visible` does not allow: a
    secret the service does not declare (least privilege), or on compose one it declares as a file. Return what was
    checked: {"services", "secrets", "short", "pairs", "visible_as_declared"}."""
    allowed = allowed_visible(topology, target)
    assert values, "the topology declares no secret: nothing to check"
    empty = sorted(n for n, v in values.items() if not v)
    assert not empty, f"secret(s) {', '.join(empty)} have an empty value: nothing to keep secret, nothing to check"
    missing = sorted(set(allowed) - set(inspects))
    assert not missing, f"no `docker inspect` of {', '.join(missing)}: those services were not checked"
    problems, visible_ok, pairs = [], [], 0
    by_service = {s.name: s for s in topology.services}
    for name in sorted(allowed):
        s = by_service[name]
        declared_as_file = {secret for _v, secret in s.secrets} if s.secrets_as == "file" else set()
        for secret, value in sorted(values.items()):
            pairs += 1
            where = _where_visible(value, inspects[name])
            if not where:
                continue
            if secret in allowed[name]:
                visible_ok.append(f"{name}:{secret}")
            elif secret in declared_as_file:
                problems.append(f"{name}: the value of {secret} is visible in docker inspect ({where}), but {name} "
                                f"declares it as a file (secrets_as: file) and {target} passes it as /run/secrets/"
                                f"{secret}")
            else:
                problems.append(f"{name}: the value of {secret} is visible in docker inspect ({where}), but {name} "
                                f"does not declare {secret} (least privilege: a service sees only its own secrets)")
    assert pairs > 0, "no (service, secret) pair was checked"
    assert not problems, (f"{len(problems)} undeclared secret exposure(s) on {target} "
                          f"({len(allowed)} services × {len(values)} secrets checked):\n  " + "\n  ".join(problems))
    return {"services": len(allowed), "secrets": len(values),
            "short": sorted(n for n, v in values.items() if len(v) < MIN_SUBSTRING), "pairs": pairs,
            "visible_as_declared": visible_ok}


def inspect_services(stack) -> dict[str, dict]:
    """The parsed `docker inspect` of every service of the topology (a service without a container fails)."""
    out = {}
    for s in stack.topology.services:
        cid = stack.compose.container_id(s.name)
        assert cid, f"{s.name} has no running container to inspect"
        out[s.name] = json.loads(run(["docker", "inspect", cid]).stdout)[0]
    return out


def test_our_containers_get_secrets_as_files_not_values(stack):
    """`docker inspect` of each container shows only the secret values its declaration allows on this target.

    None for compose's secrets_as: file (/run/secrets files); declared ones only where the target passes environment
    variables (compose secrets_as: env; aws-emulation: every secret, as Lightsail env / ECS valueFrom); never a
    secret the service does not declare (least privilege)."""
    checked = check_secret_exposure(stack.topology, stack.target, secret_values(stack), inspect_services(stack))
    summary = (f"{checked['services']} services × {checked['secrets']} secrets on {stack.target} "
               f"({len(checked['short'])} short, matched whole); {len(checked['visible_as_declared'])} "
               f"(service, secret) values visible as declared, none other")
    print(f"checked: {summary}")  # the contract report shows this line beside the promise
    assert checked["services"] == len(stack.topology.services) > 0
    assert checked["secrets"] == len(stack.topology.secrets) > 0
