"""AwsTarget: static AWS artifacts — the inputs of the API calls that would create the deployment.

- deploy/aws/lightsail-deployment.json   CreateContainerServiceDeployment (Lightsail group)
- deploy/aws/ecs/<service>.json          RegisterTaskDefinition (Fargate, EBS configured at launch)
- deploy/aws/ecs/<service>.launch.json   CreateService (service-managed EBS) or RunTask (retained EBS)
- deploy/aws/rds.json                    CreateDBInstance (password managed by Secrets Manager)

Each is validated by botocore's parameter validation and by harness/aws/limits.py (botocore checks types and
minimums only). Hostnames follow AWS: Lightsail containers reach each other on localhost, Fargate tasks by
Service Connect names, RDS by its endpoint. Secret values never appear: ECS gets `valueFrom` ARNs; Lightsail,
which has no secret references, gets `{{secret:NAME}}` placeholders — and the notes say so.
"""
from __future__ import annotations

from functools import lru_cache

import botocore.session
from botocore.validate import ParamValidator

from harness.aws import limits
from harness.model import Service, Topology, resolve
from harness.targets.base import UNREPRESENTABLE, Rendering, Target, View, header, to_json, upstream_http_check

DEPLOY_DIR = "deploy/aws"


@lru_cache(maxsize=None)
def _input_shape(service: str, operation: str):
    return botocore.session.get_session().get_service_model(service).operation_model(operation).input_shape


def botocore_errors(service: str, operation: str, params: dict) -> list[str]:
    report = ParamValidator().validate(params, _input_shape(service, operation))
    return report.generate_report().splitlines() if report.has_errors() else []


def host_for(topology: Topology, consumer: Service, other: Service) -> str:
    """The hostname `consumer` uses to reach `other` on AWS."""
    mine = consumer.placement.get("aws")
    theirs = other.placement.get("aws")
    if theirs is None:
        return other.name
    if theirs.kind == "lightsail":
        # same Lightsail deployment: one network namespace
        return "localhost" if mine is not None and mine.kind == "lightsail" else f"{topology.aws.lightsail.service}.public"
    if theirs.kind == "fargate":
        return f"{other.name}.{topology.aws.namespace}"
    if theirs.kind == "rds":
        a = topology.aws
        return f"{a.rds_identifier}.{a.rds_endpoint_hash}.{a.region}.rds.amazonaws.com"
    return theirs.host or other.name


def secret_arn(topology: Topology, secret: str) -> str:
    a = topology.aws
    return f"arn:aws:secretsmanager:{a.region}:{a.account_id}:secret:{topology.project}/{secret}"


def fargate_size(service: Service) -> tuple[int, int, bool]:
    """(cpu units, memory MiB, snapped?) for a Fargate task."""
    p = service.placement["aws"]
    if p.cpu is not None:
        return p.cpu, p.memory, False
    cpu, mem = limits.snap_fargate(service.resources.cpu, service.resources.memory_mib)
    exact = abs(cpu - service.resources.cpu * 1024) < 1e-6 and mem == service.resources.memory_mib
    return cpu, mem, not exact


class AwsTarget(Target):
    name = "aws"
    description = "static AWS inputs: Lightsail deployment, ECS task definitions, RDS instance (deploy/aws/)"
    placement_key = "aws"

    def render(self, topology: Topology) -> Rendering:
        out = Rendering(self.name)
        for s in topology.services:
            if "aws" not in s.placement:
                out.notes.append(topology.problem(s.key, f"{s.name} has no placement.aws; it is not part of the AWS rendering",
                                                  "add placement: {aws: lightsail|fargate|rds|external}", severity="warning"))
        if topology.aws.lightsail and topology.group("lightsail"):
            self._lightsail(topology, out)
        for s in topology.group("fargate"):
            self._fargate(topology, s, out)
        rds = topology.group("rds")
        if rds:
            self._rds(topology, rds[0], out)
        for s in topology.group("external"):
            p = s.placement["aws"]
            out.notes.append(topology.problem(p.key, f"{s.name} is outside AWS ({p.note or 'external'}); "
                                              f"consumers reach it at {p.host}", "", severity="notice"))
        out.files[f"{DEPLOY_DIR}/GENERATED.txt"] = header("aws") + (
            "# JSON cannot carry comments, so this file is the header of every file listed below.\n"
            + "".join(f"{path}\n" for path in sorted(out.files)))
        return out

    def views(self, r: Rendering, t: Topology) -> dict[str, View]:
        out: dict[str, View] = {}
        for name, c in r.data.get("lightsail", {}).get("containers", {}).items():
            env = dict(c.get("environment", {}))
            secret_vars = {k for k, v in env.items() if str(v).startswith("{{secret:")}
            for k in secret_vars:
                env.pop(k)
            out[name] = View(image=c["image"], env=env, command=list(c.get("command", [])), secrets=secret_vars,
                             ports={int(p) for p in c.get("ports", {})}, hardening=UNREPRESENTABLE, resources=UNREPRESENTABLE)
        for name, task in r.data.get("ecs", {}).items():
            c = task["containerDefinitions"][0]
            hard = (c.get("user", ""), bool(c.get("readonlyRootFilesystem")),
                    tuple(c.get("linuxParameters", {}).get("capabilities", {}).get("drop", [])))
            out[name] = View(image=c["image"], command=list(c.get("command", [])),
                             env={e["name"]: e["value"] for e in c.get("environment", [])},
                             secrets={s["name"] for s in c.get("secrets", [])},
                             ports={p["containerPort"] for p in c.get("portMappings", [])}, hardening=hard,
                             resources=(int(task["cpu"]) / 1024, int(task["memory"])))
        if "rds" in r.data:
            rds = r.data["rds"]
            for s in t.group("rds"):
                out[s.name] = View(managed=f"RDS {rds['Engine']} {rds['EngineVersion']} ({rds['DBInstanceClass']})")
        for s in t.group("external"):
            out[s.name] = View(managed=f"outside AWS at {s.placement['aws'].host}")
        return out

    def _check(self, topology: Topology, out: Rendering, key: str, service: str, operation: str, params: dict) -> None:
        for line in botocore_errors(service, operation, params):
            out.notes.append(topology.problem(key, f"botocore {service}.{operation}: {line.strip()}",
                                              "this is a topo bug or an unsupported combination; report it"))

    def _lightsail(self, t: Topology, out: Rendering) -> None:
        ls = t.aws.lightsail
        containers = {}
        for s in t.group("lightsail"):
            env = {k: resolve(t, v, lambda o, s=s: host_for(t, s, o)) for k, v in s.env}
            for var, secret in s.secrets:
                env[var] = f"{{{{secret:{secret}}}}}"
            c: dict = {"image": s.image.ref}
            if s.command:
                c["command"] = [resolve(t, x, lambda o, s=s: host_for(t, s, o)) for x in s.command]
            if env:
                c["environment"] = env
            if s.ports:
                c["ports"] = {str(p.port): p.protocol.upper() for p in s.ports}
            containers[s.name] = c
            dropped = [f for f, present in (("user", s.hardened), ("read_only", s.hardened), ("resources", s.resources),
                                            ("healthcheck", s.healthcheck and s.name != ls.public_container),
                                            ("depends_on", s.depends_on)) if present]
            if dropped:
                out.notes.append(t.problem(s.key, f"Lightsail containers have no {', '.join(dropped)}: not rendered "
                                           f"for {s.name}", "the image itself must run non-root; the power is shared",
                                           severity="notice"))
        with_secrets = [s.name for s in t.group("lightsail") if s.secrets]
        if with_secrets:
            out.notes.append(t.problem("aws.lightsail", "Lightsail passes secrets only as plain environment variables "
                                       f"({', '.join(with_secrets)}); the rendering holds {{{{secret:NAME}}}} placeholders",
                                       "substitute them at deploy time from Secrets Manager; they will be visible in the "
                                       "Lightsail console and API", severity="warning"))
        hc = ls.health_check
        pub = t.service(ls.public_container)
        params = {
            "serviceName": ls.service,
            "containers": containers,
            "publicEndpoint": {
                "containerName": pub.name,
                "containerPort": pub.port(ls.public_port).port,
                "healthCheck": {
                    "healthyThreshold": hc.healthy_threshold, "unhealthyThreshold": hc.unhealthy_threshold,
                    "timeoutSeconds": hc.timeout_seconds, "intervalSeconds": hc.interval_seconds,
                    "path": hc.path, "successCodes": hc.success_codes,
                },
            },
        }
        self._check(t, out, "aws.lightsail", "lightsail", "CreateContainerServiceDeployment", params)
        out.files[f"{DEPLOY_DIR}/lightsail-deployment.json"] = to_json(params)
        out.data["lightsail"] = params

    def _fargate(self, t: Topology, s: Service, out: Rendering) -> None:
        p = s.placement["aws"]
        cpu, mem, snapped = fargate_size(s)
        if snapped:
            out.notes.append(t.problem(s.resources.key, f"{s.resources.cpu:g} vCPU / {s.resources.memory_mib} MiB is not "
                                       f"a Fargate size; snapped up to cpu {cpu} / memory {mem}",
                                       "set placement.aws.cpu/memory to choose explicitly", severity="notice"))
        family = f"{t.project}-{s.name}"
        host = lambda o: host_for(t, s, o)  # noqa: E731
        container: dict = {
            "name": s.name,
            "image": s.image.ref,
            "essential": True,
            "portMappings": [{"name": pt.name, "containerPort": pt.port,
                              "protocol": "udp" if pt.protocol == "udp" else "tcp",
                              **({"appProtocol": "http"} if pt.protocol == "http" else {})} for pt in s.ports],
            "stopTimeout": p.stop_timeout_seconds,
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": f"/ecs/{family}", "awslogs-region": t.aws.region, "awslogs-stream-prefix": s.name,
                "awslogs-create-group": "true"}},
        }
        if s.command:
            container["command"] = [resolve(t, x, host) for x in s.command]
        if s.env:
            container["environment"] = [{"name": k, "value": resolve(t, v, host)} for k, v in s.env]
        if s.secrets:
            container["secrets"] = [{"name": var, "valueFrom": secret_arn(t, sec)} for var, sec in s.secrets]
        if s.volumes:
            container["mountPoints"] = [{"sourceVolume": v.name, "containerPath": v.path, "readOnly": False}
                                        for v in s.volumes]
        if s.hardened:
            container["user"] = "10001:10001"
            container["readonlyRootFilesystem"] = True
            container["linuxParameters"] = {"capabilities": {"drop": ["ALL"]}}
        if s.healthcheck and s.healthcheck.kind == "command":
            container["healthCheck"] = {"command": ["CMD", *s.healthcheck.command], "interval": 10, "timeout": 5,
                                        "retries": 3, "startPeriod": 30}
        elif s.healthcheck:
            port = s.port(s.healthcheck.port)
            container["healthCheck"] = {"command": ["CMD-SHELL", upstream_http_check(port.port, s.healthcheck.path)],
                                        "interval": 10, "timeout": 5, "retries": 3, "startPeriod": 30}
        task = {
            "family": family,
            "networkMode": "awsvpc",
            "requiresCompatibilities": ["FARGATE"],
            "cpu": str(cpu),
            "memory": str(mem),
            "executionRoleArn": f"arn:aws:iam::{t.aws.account_id}:role/{t.project}-ecs-execution",
            "runtimePlatform": {"operatingSystemFamily": "LINUX", "cpuArchitecture": "X86_64"},
            "containerDefinitions": [container],
        }
        if s.volumes:
            task["volumes"] = [{"name": v.name, "configuredAtLaunch": True} for v in s.volumes]
        self._check(t, out, p.key, "ecs", "RegisterTaskDefinition", task)
        out.files[f"{DEPLOY_DIR}/ecs/{s.name}.json"] = to_json(task)
        out.data.setdefault("ecs", {})[s.name] = task

        strategy = [{"capacityProvider": "FARGATE_SPOT" if p.capacity == "spot" else "FARGATE", "weight": 1}]
        network = {"awsvpcConfiguration": {"subnets": ["subnet-REPLACE-ME"], "assignPublicIp": "DISABLED"}}
        ebs_role = f"arn:aws:iam::{t.aws.account_id}:role/{t.project}-ecs-infrastructure"
        if p.volume_lifecycle == "retained" and s.volumes:
            # A volume that outlives its task exists only for standalone tasks (RunTask): services always delete it.
            operation = "RunTask"
            launch = {
                "cluster": t.aws.ecs_cluster, "taskDefinition": family, "count": 1,
                "capacityProviderStrategy": strategy, "networkConfiguration": network,
                "volumeConfigurations": [{"name": v.name, "managedEBSVolume": {
                    "roleArn": ebs_role, "sizeInGiB": max(1, (v.size_bytes or 20 << 30) >> 30), "volumeType": "gp3",
                    "filesystemType": "ext4", "terminationPolicy": {"deleteOnTermination": False}}} for v in s.volumes],
                "tags": [{"key": "topo:service", "value": s.name}],
            }
            out.notes.append(t.problem(f"{p.key}.volume_lifecycle",
                                       f"{s.name} keeps its EBS volume across tasks, which ECS allows only for a "
                                       "standalone task: nothing replaces it automatically after a Spot interruption, and "
                                       "Service Connect does not cover it (register it in Cloud Map yourself)",
                                       "run `aws ecs run-task` again with the same volume (restored from its snapshot)",
                                       severity="notice"))
        else:
            operation = "CreateService"
            launch = {
                "cluster": t.aws.ecs_cluster, "serviceName": s.name, "taskDefinition": family, "desiredCount": 1,
                "capacityProviderStrategy": strategy, "networkConfiguration": network,
                "serviceConnectConfiguration": {"enabled": True, "namespace": t.aws.namespace, "services": [
                    {"portName": pt.name, "discoveryName": s.name if i == 0 else f"{s.name}-{pt.name}",
                     "clientAliases": [{"port": pt.port, "dnsName": f"{s.name}.{t.aws.namespace}"}]}
                    for i, pt in enumerate(s.ports[:1])]},
            }
            if s.volumes:
                launch["volumeConfigurations"] = [{"name": v.name, "managedEBSVolume": {
                    "roleArn": ebs_role, "sizeInGiB": max(1, (v.size_bytes or 20 << 30) >> 30), "volumeType": "gp3",
                    "filesystemType": "ext4"}} for v in s.volumes]
        self._check(t, out, p.key, "ecs", operation, launch)
        out.files[f"{DEPLOY_DIR}/ecs/{s.name}.launch.json"] = to_json(launch)
        out.data.setdefault("ecs_launch", {})[s.name] = {"operation": operation, "input": launch}

    def _rds(self, t: Topology, s: Service, out: Rendering) -> None:
        p = s.placement["aws"]
        env = dict(s.env)
        params = {
            "DBInstanceIdentifier": t.aws.rds_identifier,
            "DBInstanceClass": p.instance_class,
            "Engine": "postgres",
            "EngineVersion": p.engine_version or "16.4",
            "AllocatedStorage": p.storage_gb,
            "StorageType": "gp3",
            "DBName": env.get("POSTGRES_DB", t.project),
            "MasterUsername": env.get("POSTGRES_USER", t.project),
            "ManageMasterUserPassword": True,
            "MultiAZ": False,
            "PubliclyAccessible": False,
            "Port": s.ports[0].port if s.ports else 5432,
            "Tags": [{"Key": "topo:service", "Value": s.name}],
        }
        self._check(t, out, p.key, "rds", "CreateDBInstance", params)
        out.notes.append(t.problem(f"{s.key}.secrets", "RDS manages the master password in Secrets Manager "
                                   "(ManageMasterUserPassword); the topology's postgres-password secret must be set to it",
                                   "", severity="notice") if s.secrets else None)
        out.notes = [n for n in out.notes if n is not None]
        out.files[f"{DEPLOY_DIR}/rds.json"] = to_json(params)
        out.data["rds"] = params
