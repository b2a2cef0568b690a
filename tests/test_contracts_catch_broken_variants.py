"""Each fault contract can fail: run against a deliberately broken variant of the app, it does.

Broken variants are switched on per container through DEML_FAULTS (never set by a rendered topology):
a telemetry worker without the processed-marker check, and a relay that marks rows before producing them."""
from __future__ import annotations

import pytest

from contracts.test_idempotency_faults import check_relay_crash_absorbed, check_worker_crash_absorbed
from harness import clients

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def acme_token(topo_endpoints) -> str:
    return clients.sign_in(topo_endpoints.auth_host, topo_endpoints.firebase_project, "acme").id_token


@pytest.mark.catches("contracts/test_idempotency_faults.py",
                     variant="telemetry worker without the processed-marker check (crash before commit)")
def test_worker_without_the_marker_check_double_counts(topo_stack, topo_endpoints, acme_token):
    broken = {"DEML_FAULTS": "worker_crash_before_commit@75,worker_skip_marker_check"}
    with pytest.raises(AssertionError, match="double-counted or lost"):
        check_worker_crash_absorbed(topo_stack, topo_endpoints, acme_token, 300, variant=broken)


@pytest.mark.catches("contracts/test_idempotency_faults.py",
                     variant="relay marks outbox rows before producing them (crash between)")
def test_relay_marking_before_producing_loses_events(topo_stack, topo_endpoints, acme_token):
    broken = {"DEML_FAULTS": "relay_crash_between@75,relay_mark_before_produce", "RELAY_BATCH": "20"}
    with pytest.raises(AssertionError, match="expected 300 projections and rows"):
        check_relay_crash_absorbed(topo_stack, topo_endpoints, acme_token, 300, variant=broken, timeout=45)


def test_the_correct_app_passes_the_same_checks(topo_stack, topo_endpoints, acme_token):
    """The control: the same checks, the same faults, the real app — exact counts."""
    assert check_worker_crash_absorbed(topo_stack, topo_endpoints, acme_token, 300)["counted"] == 300
    assert check_relay_crash_absorbed(topo_stack, topo_endpoints, acme_token, 300)["projected"] == 300


def _admin(e):
    from confluent_kafka.admin import AdminClient

    from contracts.support import kafka_conf

    return AdminClient(kafka_conf(e, **{"sasl.username": e.kafka_admin_user, "sasl.password": e.kafka_admin_password}))


def _binding(e, resource, name, op, as_filter=False):
    from confluent_kafka.admin import (
        AclBinding, AclBindingFilter, AclOperation, AclPermissionType, ResourcePatternType, ResourceType,
    )

    cls = AclBindingFilter if as_filter else AclBinding
    return cls(getattr(ResourceType, resource), name, ResourcePatternType.LITERAL, f"User:{e.kafka_app_user}",
               "*", getattr(AclOperation, op), AclPermissionType.ALLOW)


@pytest.mark.catches("contracts/test_kafka_acls.py",
                     variant="app user may also delete any topic and alter the cluster")
def test_an_app_user_with_too_much_privilege_fails_the_acl_contract(topo_endpoints):
    """Broken variant: the app user may also delete any topic and alter the cluster (ACLs, SCRAM users), as on a
    broker that allows what no ACL forbids. The contract names what was allowed."""
    from contracts.test_kafka_acls import check_least_privilege

    e = topo_endpoints
    extra = [_binding(e, "TOPIC", "*", "DELETE"), _binding(e, "BROKER", "kafka-cluster", "ALTER")]
    extra_filters = [_binding(e, "TOPIC", "*", "DELETE", True), _binding(e, "BROKER", "kafka-cluster", "ALTER", True)]
    admin = _admin(e)
    for f in admin.create_acls(extra).values():
        f.result(timeout=30)
    try:
        with pytest.raises(AssertionError, match="not refused by the authorizer") as info:
            check_least_privilege(e)
        assert "delete a topic" in str(info.value) and "create an ACL" in str(info.value)
    finally:
        for f in admin.delete_acls(extra_filters).values():
            f.result(timeout=30)
    assert check_least_privilege(e)["refused"]  # the control: declared ACLs only → passes again


@pytest.mark.catches("contracts/test_kafka_acls.py",
                     variant="app user lost READ on the workers group")
def test_an_app_user_missing_a_pipeline_acl_fails_the_acl_contract(topo_endpoints):
    """Broken variant: the app user lost READ on the `workers` group (what a too-tight topology would do)."""
    from contracts.test_kafka_acls import check_least_privilege

    e = topo_endpoints
    missing = [_binding(e, "GROUP", "workers", "READ")]
    admin = _admin(e)
    for f in admin.delete_acls([_binding(e, "GROUP", "workers", "READ", True)]).values():
        f.result(timeout=30)
    try:
        with pytest.raises(AssertionError, match="refused what the pipeline needs") as info:
            check_least_privilege(e)
        assert "group workers" in str(info.value)
    finally:
        for f in admin.create_acls(missing).values():
            f.result(timeout=30)


def _distroless_refs() -> list[str]:
    from pathlib import Path

    from contracts.test_distroless import declared_distroless
    from harness.loader import load

    return [i.ref for i in declared_distroless(load(Path(__file__).resolve().parents[1] / "topology.yaml")[0])]


@pytest.mark.catches("contracts/test_distroless.py",
                     variant="image with a shell and a package manager (the Debian base: sh, bash, apt-get, dpkg)")
def test_an_image_with_a_shell_and_a_package_manager_fails_the_distroless_contract():
    """Broken variant: the Debian base image (sh, bash, apt-get, dpkg) is named, with the paths found; no stack needed."""
    from contracts.test_distroless import check_distroless
    from harness.runtime.images import BASE_REF, inspect

    if inspect(BASE_REF) is None:
        pytest.skip(f"{BASE_REF} is not built (scripts/build-images.sh base)")
    with pytest.raises(AssertionError, match=r"is not distroless .*shell\(s\): .*bin/sh.*package manager\(s\): .*apt-get") as info:
        check_distroless(BASE_REF)
    assert BASE_REF in str(info.value) and "dpkg" in str(info.value)


def test_the_declared_distroless_images_pass_the_distroless_contract():
    """The control: every image the topology declares distroless (deml/app) passes the same check."""
    from contracts.test_distroless import MIN_FILES, check_distroless
    from harness.runtime.images import inspect

    refs = _distroless_refs()
    assert refs, "topology.yaml declares no distroless image"
    for ref in refs:
        if inspect(ref) is None:
            pytest.skip(f"{ref} is not built (topo images build)")
        found = check_distroless(ref)
        assert found["files"] >= MIN_FILES and not found["shells"] and not found["package_managers"]


def _started(ref: str, *flags: str) -> dict:
    """docker inspect of a container of `ref` started with these flags (it only waits for a signal); removed after."""
    import json
    import uuid

    from harness.runtime.docker import run

    name = f"topo-hardening-variant-{uuid.uuid4().hex[:6]}"
    run(["docker", "run", "-d", "--pull", "never", "--name", name, *flags, "--entrypoint", "python3", ref,
         "-c", "import signal; signal.pause()"], timeout=60)
    try:
        return json.loads(run(["docker", "inspect", name]).stdout)[0]
    finally:
        run(["docker", "rm", "-f", name], check=False)


@pytest.mark.catches("contracts/test_hardening.py",
                     variant="our app image started as root, writable, with Docker's default capabilities")
def test_a_container_started_without_hardening_fails_the_hardening_contract():
    """Broken variant: the app image run the way `docker run` does by default (as root, writable root filesystem,
    default capabilities) — a real container inspected, not a made-up one; the control is the same image run
    with the rendered hardening, which passes."""
    from contracts.test_hardening import check_hardened

    ref = _distroless_refs()[0]
    with pytest.raises(AssertionError, match="runs as root"):
        check_hardened("app-as-root", _started(ref, "--user", "0"))
    with pytest.raises(AssertionError, match="writable root filesystem"):
        check_hardened("app-writable", _started(ref))
    with pytest.raises(AssertionError, match="keeps capabilities"):
        check_hardened("app-with-caps", _started(ref, "--read-only"))
    check_hardened("app-hardened", _started(ref, "--read-only", "--cap-drop", "ALL",
                                            "--security-opt", "no-new-privileges:true"))
