"""The secrets contract can fail on a live stack: a container given a secret it does not declare (and one declared
as a file, passed as a value) is caught, naming the service and the secret; restored, the same check passes.

One compose stack (the session's `topo_stack`, shared with the other docker tests), one recreate of the frontend
with the broken environment and one to restore it."""
from __future__ import annotations

import pytest

from contracts.test_secrets import check_secret_exposure, inspect_services, secret_values

pytestmark = pytest.mark.docker


@pytest.mark.catches("contracts/test_secrets.py", variant="frontend container given the broker admin password (a secret "
                                                           "it does not declare) in its environment (live compose stack)")
@pytest.mark.catches("contracts/test_secrets.py", variant="frontend container given its file-declared Postgres password "
                                                           "as an environment value on compose (live compose stack)")
def test_a_container_holding_another_services_secret_fails_the_secrets_contract(topo_stack):
    stack = topo_stack
    values = secret_values(stack)
    assert stack.target == "compose"
    broken = {"DEBUG_BROKER_ADMIN": values["redpanda-admin-password"], "DEBUG_DB": values["postgres-password"]}
    stack.set_env("frontend", broken)
    try:
        with pytest.raises(AssertionError) as info:
            check_secret_exposure(stack.topology, stack.target, values, inspect_services(stack))
        message = str(info.value)
        assert ("frontend: the value of redpanda-admin-password is visible in docker inspect (Config.Env "
                "DEBUG_BROKER_ADMIN), but frontend does not declare redpanda-admin-password") in message, message
        assert ("frontend: the value of postgres-password is visible in docker inspect (Config.Env DEBUG_DB), but "
                "frontend declares it as a file") in message, message
        assert "2 undeclared secret exposure(s) on compose" in message, message
        for value in broken.values():
            assert value not in message  # the evidence names variables, never values
    finally:
        stack.set_env("frontend", {})
    # the control: the rendered frontend again, the same check passes and says what it checked
    checked = check_secret_exposure(stack.topology, stack.target, values, inspect_services(stack))
    assert (checked["services"], checked["secrets"]) == (len(stack.topology.services), len(stack.topology.secrets))
