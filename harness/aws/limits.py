"""AWS limits the emulation and the renderers enforce — data, each row with its source.

botocore's parameter validation checks types, required members and minimums only: it lets `scale: 25`,
11 containers or an unknown power through. The rows below are what it leaves out.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

BOTOCORE_LIGHTSAIL = "botocore data lightsail/2016-11-28/service-2.json"
BOTOCORE_ECS = "botocore data ecs/2014-11-13/service-2.json"
DOC_LIGHTSAIL_CONTAINERS = "AWS docs: Lightsail container services — 'Container service capacity (scale and power)'"
DOC_LIGHTSAIL_DEPLOY = "AWS docs: Lightsail — 'Creating and managing container service deployments'"
DOC_LIGHTSAIL_HEALTH = "AWS API reference: Lightsail ContainerServiceHealthCheckConfig"
DOC_FARGATE_SIZES = "AWS docs: Amazon ECS — 'Task CPU and memory' (Fargate supported values)"
DOC_FARGATE_SPOT = "AWS docs: Amazon ECS — 'Fargate capacity providers' (Spot: SIGTERM, 2 minutes warning)"
DOC_ECS_EBS = "AWS docs: Amazon ECS — 'Use Amazon EBS volumes with Amazon ECS' (volumes deleted when the task stops)"
DOC_RDS_ENDPOINT = "AWS docs: Amazon RDS — 'Connecting to a DB instance' (endpoint format)"


@dataclass(frozen=True)
class Power:
    name: str
    vcpu: float
    memory_mib: int


# ContainerServicePowerName enum (botocore) with each power's capacity (AWS docs).
LIGHTSAIL_POWERS: dict[str, Power] = {
    p.name: p
    for p in (
        Power("nano", 0.25, 512),
        Power("micro", 0.25, 1024),
        Power("small", 0.5, 2048),
        Power("medium", 1.0, 4096),
        Power("large", 2.0, 8192),
        Power("xlarge", 4.0, 16384),
    )
}

# (rule, value, source)
LIGHTSAIL_RULES = {
    "max_containers": (10, DOC_LIGHTSAIL_DEPLOY),
    "scale_min": (1, f"{BOTOCORE_LIGHTSAIL} ContainerServiceScale min 1"),
    "scale_max": (20, f"{BOTOCORE_LIGHTSAIL} ContainerServiceScale min 1, max 20"),
    "container_name": (re.compile(r"^(?:[a-z0-9]{1,2}|[a-z0-9][a-z0-9-]{0,51}[a-z0-9])$"),
                       f"{BOTOCORE_LIGHTSAIL} ContainerName (pattern, max 53)"),
    "service_name": (re.compile(r"^(?:[a-z0-9]{1,2}|[a-z0-9][a-z0-9-]{0,61}[a-z0-9])$"),
                     f"{BOTOCORE_LIGHTSAIL} ContainerServiceName (pattern, max 63)"),
    "public_protocols": ({"http", "https"}, DOC_LIGHTSAIL_DEPLOY),
    "protocols": ({"http", "https", "tcp", "udp"}, f"{BOTOCORE_LIGHTSAIL} ContainerServiceProtocol"),
    "no_volumes": (True, f"{BOTOCORE_LIGHTSAIL} Container has image/command/environment/ports only"),
}

# ContainerServiceHealthCheckConfig: defaults and accepted ranges.
LIGHTSAIL_HEALTH = {
    "interval_seconds": (5, 5, 300),
    "timeout_seconds": (2, 2, 60),
    "healthy_threshold": (2, 2, 10),
    "unhealthy_threshold": (2, 2, 10),
}
LIGHTSAIL_HEALTH_SOURCE = DOC_LIGHTSAIL_HEALTH
SUCCESS_CODES = re.compile(r"^[1-5][0-9]{2}(-[1-5][0-9]{2})?(,[1-5][0-9]{2}(-[1-5][0-9]{2})?)*$")

# Fargate task sizes: CPU units → allowed memory (MiB). DOC_FARGATE_SIZES.
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}
FARGATE_SPOT_STOP_TIMEOUT_MAX = (120, DOC_FARGATE_SPOT)


def fargate_pair_valid(cpu: int, memory: int) -> bool:
    return memory in FARGATE_SIZES.get(cpu, ())


def snap_fargate(vcpu: float, memory_mib: int) -> tuple[int, int] | None:
    """The smallest valid Fargate (cpu units, memory MiB) that holds the request; None if none does."""
    want_cpu = vcpu * 1024
    for cpu in sorted(FARGATE_SIZES):
        if cpu + 1e-9 < want_cpu:
            continue
        for mem in FARGATE_SIZES[cpu]:
            if mem >= memory_mib:
                return cpu, mem
    return None


def describe_fargate_sizes() -> str:
    parts = []
    for cpu, mems in FARGATE_SIZES.items():
        parts.append(f"{cpu}: {mems[0] // 1024 if mems[0] >= 1024 else mems[0] / 1024:g}-{mems[-1] / 1024:g} GB")
    return "; ".join(parts)
