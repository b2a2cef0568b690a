from __future__ import annotations

import pytest

from harness import clients


@pytest.fixture(scope="session")
def acme(endpoints):
    """A signed-in user of tenant acme (ID token with the custom claim tenant_id)."""
    return clients.sign_in(endpoints.auth_host, endpoints.firebase_project, "acme")


@pytest.fixture(scope="session")
def topology(pytestconfig):
    from harness.loader import load
    from harness.pytest_plugin import _topology_path

    return load(_topology_path(pytestconfig).resolve())[0]
