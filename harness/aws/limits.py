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
BOTOCORE_RDS = "botocore data rds/2014-10-31/service-2.json"
DOC_RDS_CLASSES = "AWS docs: Amazon RDS — 'DB instance classes' (db.FAMILY.SIZE)"
DOC_RDS_PG_VERSIONS = "AWS docs: Amazon RDS for PostgreSQL — 'Supported PostgreSQL major versions' (MAJOR or MAJOR.MINOR)"
DOC_ECS_STOP_TIMEOUT = "AWS docs: Amazon ECS — task definition parameters, stopTimeout (Fargate: 2-120 s, default 30)"
DOC_DNS_LABEL = "RFC 1035 §2.3.4 (a DNS label is at most 63 octets); Service Connect names a task NAME.NAMESPACE"
DOC_POSIX_NAME = "POSIX XBD 3.235 'Name' (letters, digits, underscores; not starting with a digit): what sh/env accept"


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
# botocore: "You can specify values between 200 and 499 ... multiple values (200,202) or a range (200-299)".
SUCCESS_CODES_RANGE = ((200, 499), f"{BOTOCORE_LIGHTSAIL} ContainerServiceHealthCheckConfig successCodes (200-499)")
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
FARGATE_STOP_TIMEOUT_MIN = (2, DOC_ECS_STOP_TIMEOUT)

# (rule, value, source) for the ECS/Fargate names and volumes topo renders.
ECS_RULES = {
    # ServiceManagedEBSVolumeConfiguration / TaskManagedEBSVolumeConfiguration sizeInGiB: an integer number of GiB.
    "ebs_gp3_gib": ((1, 16384), f"{BOTOCORE_ECS} ServiceManagedEBSVolumeConfiguration sizeInGiB (gp2 and gp3: 1-16,384)"),
    "dns_label_max": (63, DOC_DNS_LABEL),
    "client_alias_max": (127, f"{BOTOCORE_ECS} ServiceConnectClientAlias dnsName (up to 127 characters)"),
}

# Which placement keys each kind reads; any other key would be silently ignored by the renderers.
# Sources: the API each kind renders (Lightsail CreateContainerServiceDeployment has no per-container placement
# fields; ECS RegisterTaskDefinition/CreateService; RDS CreateDBInstance; external is outside AWS).
PLACEMENT_KEYS: dict[str, tuple[frozenset[str], str]] = {
    "lightsail": (frozenset({"kind", "note"}), f"{BOTOCORE_LIGHTSAIL} Container"),
    "fargate": (frozenset({"kind", "note", "capacity", "stop_timeout_seconds", "volume_lifecycle", "cpu", "memory"}),
                f"{BOTOCORE_ECS} RegisterTaskDefinition / CreateService"),
    "rds": (frozenset({"kind", "note", "instance_class", "engine_version", "storage_gb"}),
            f"{BOTOCORE_RDS} CreateDBInstance"),
    "external": (frozenset({"kind", "note", "host"}), "external: topo renders nothing for it, consumers use `host`"),
}

# RDS CreateDBInstance constraints (botocore documents them in prose; its validator checks none of them).
RDS_RULES = {
    "identifier": (re.compile(r"^(?!.*--)[A-Za-z][A-Za-z0-9-]{0,62}(?<!-)$"),
                   f"{BOTOCORE_RDS} CreateDBInstance DBInstanceIdentifier (1-63 letters, digits or hyphens; "
                   "first a letter; no trailing hyphen, no two consecutive hyphens)"),
    "instance_class": (re.compile(r"^db\.[a-z0-9]+\.[a-z0-9]+$"), DOC_RDS_CLASSES),
    "postgres_db_name": (re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$"),
                         f"{BOTOCORE_RDS} CreateDBInstance DBName, RDS for PostgreSQL (1-63 letters, digits or "
                         "underscores, first a letter)"),
    "master_username": (re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,15}$"),
                        f"{BOTOCORE_RDS} CreateDBInstance MasterUsername (1-16 letters, digits or underscores, "
                        "first a letter)"),
    "port": ((1150, 65535), f"{BOTOCORE_RDS} CreateDBInstance Port (valid values 1150-65535)"),
    "postgres_version": (re.compile(r"^(?P<major>[0-9]+)(?:\.(?P<minor>[0-9]+))?$"), DOC_RDS_PG_VERSIONS),
    # majors RDS creates instances of (11-13 only under RDS Extended Support, charged extra)
    "postgres_majors": ((11, 12, 13, 14, 15, 16, 17, 18), DOC_RDS_PG_VERSIONS),
    "max_instances": (1, "topo: one aws.rds identifier and endpoint per topology (harness/targets/aws.py renders one "
                         "CreateDBInstance)"),
}
# AllocatedStorage (GiB) by (engine, storage type). The renderer writes engine postgres, StorageType gp3.
RDS_STORAGE_GIB: dict[tuple[str, str], tuple[int, int]] = {
    ("postgres", "gp2"): (20, 65536),
    ("postgres", "gp3"): (20, 65536),
    ("postgres", "io1"): (100, 65536),
    ("postgres", "io2"): (100, 65536),
    ("postgres", "standard"): (5, 3072),
}
RDS_STORAGE_SOURCE = f"{BOTOCORE_RDS} CreateDBInstance AllocatedStorage, RDS for PostgreSQL"
RDS_RENDERED = ("postgres", "gp3")  # what harness/targets/aws.py writes as Engine / StorageType

# Environment variable names every shell and `env` accept.
ENV_NAME = (re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$"), DOC_POSIX_NAME)


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
