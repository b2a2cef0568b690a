from __future__ import annotations

import pytest

from harness.testing import clients


@pytest.fixture(scope="session")
def acme(endpoints):
    """A signed-in user of tenant acme (ID token with the custom claim tenant_id)."""
    return clients.sign_in(endpoints.auth_host, endpoints.firebase_project, "acme")


@pytest.fixture(scope="session")
def topology(topo_file):
    from harness.testing import load_topology

    return load_topology(topo_file)


def pytest_collection_modifyitems(config, items):
    """The contracts of a module that sets RUN_LAST = True run after all the others (they read what the others
    produced); a stable sort keeps everything else in collection order."""
    items.sort(key=lambda item: bool(getattr(getattr(item, "module", None), "RUN_LAST", False)))
