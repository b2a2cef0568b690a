"""topo's public testing API: bring a topology up and test against it, whole or one service at a time.

    from harness.testing import environment
    with environment("topology.yaml", services=["telemetry-worker"]) as env:   # ephemeral, always torn down
        env.kafka_producer(); env.sign_in("tenant1"); env.clickhouse("SELECT 1"); env.postgres()

- `environment()` / `start()` → `Environment`: a topology brought up on any runnable host (compose, aws-emulation,
  railway-emulation, …) or an already deployed one (`target="endpoints:FILE"`), its typed `Endpoints`, ready
  clients, and the `stack` for tests that control containers.
- `prepare()` → an `Environment` not brought up yet (`.up()`, `.attach()` to a running project, `.close()`), for
  tools that time the bring-up themselves (bench/).
- `container_for(topology, "postgres")` → one service as a testcontainers container, configured from the topology
  (image, command, env, secrets, hardening, 127.0.0.1 ports, topo's probes as wait strategy, then its bootstrap);
  `RedpandaSaslContainer` (SASL/SCRAM users, least-privilege ACLs, topics) and `FirebaseEmulatorContainer`
  (Firestore + Auth + Functions, `sign_in(tenant)`); `started(*containers)` starts several at once.
- `load_topology()`: a topology file with a profile and a service subset applied.
- pytest: the plugin `topo` (harness.pytest_plugin) gives fixtures `topo_environment`, `topo_endpoints`, and the
  overridable settings fixtures `topo_file`, `topo_target`, `topo_services`, `topo_profile`.

Also `clients` (small HTTP clients), `kafka_config()` (SASL client settings from Endpoints), `usage` (measured
CPU/memory of a project), `run` (a command as a list), `host()` (a host's policy object), the model types
`Topology`/`Image` and `resolve()` (a value's `${svc...}` references), `images_missing()`, `standin_verdict()`. Everything here is the stable surface; the contract suite (contracts/) and the benchmarks (bench/) use nothing else.
"""
from harness import clients  # noqa: F401 — Firebase sign-in/callable/Firestore REST, ClickHouse, eventually()
from harness.errors import TopoError, TopologyError
from harness.model import Image, Topology, resolve
from harness.pytest_plugin import Endpoints
from harness.runtime import usage  # noqa: F401 — measured CPU/memory of a project (UsageSampler → usage.json)
from harness.runtime.docker import run  # a command as a list; raises CommandError with its output
from harness.targets import host  # the host (target) object of a name: its secrets mechanism, interruption, …
from harness.testing.containers import (FirebaseEmulatorContainer, RedpandaSaslContainer, TopologyContainer,
                                        container_for, spec_for, started)
from harness.testing.stack import Environment, attach, environment, kafka_config, load_topology, prepare, start


def images_missing(topology) -> list[str]:
    """The topology's image references not present in the local engine (`topo images build` makes them)."""
    from harness.runtime import images

    return [img.ref for img in topology.images.values() if images.inspect(img.ref) is None]


def standin_verdict(topology) -> str:
    """The line saying which images of the topology are offline stand-ins and which are the real ones."""
    from harness.runtime.images import standin_verdict as verdict

    return verdict(topology)


__all__ = ["Endpoints", "Environment", "FirebaseEmulatorContainer", "RedpandaSaslContainer", "TopologyContainer",
           "attach", "container_for", "spec_for", "started", "Image", "TopoError", "Topology", "TopologyError", "clients", "environment",
           "host", "images_missing", "kafka_config", "load_topology", "prepare", "resolve", "run", "standin_verdict",
           "start", "usage"]
