"""topo's public testing API: bring a topology up and test against it, whole or one service at a time.

    from harness.testing import environment
    with environment("topology.yaml", services=["telemetry-worker"]) as env:   # ephemeral, always torn down
        env.kafka_producer(); env.sign_in("tenant1"); env.clickhouse("SELECT 1"); env.postgres()

- `environment()` / `start()` → `Environment`: a topology brought up on any runnable host (compose, aws-emulation,
  railway-emulation, …) or an already deployed one (`target="endpoints:FILE"`), its typed `Endpoints`, ready
  clients, and the `stack` for tests that control containers.
- `load_topology()`: a topology file with a profile and a service subset applied.
- pytest: the plugin `topo` (harness.pytest_plugin) gives fixtures `topo_environment`, `topo_endpoints`, and the
  overridable settings fixtures `topo_file`, `topo_target`, `topo_services`, `topo_profile`.

Everything here is the stable surface; the contract suite (contracts/) and the benchmarks (bench/) use nothing else.
"""
from harness.errors import TopoError, TopologyError
from harness.pytest_plugin import Endpoints
from harness.testing.stack import Environment, environment, load_topology, start

__all__ = ["Endpoints", "Environment", "TopoError", "TopologyError", "environment", "load_topology", "start"]
