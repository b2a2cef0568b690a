"""topo: one topology.yaml, rendered to docker compose and AWS, brought up locally, held to contracts."""

__version__ = "0.1.0"
