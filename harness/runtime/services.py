"""What the runtime knows about each kind of service: how to probe it from the host and how a user reaches it.

The kind comes from the service's image key in topology.yaml (redpanda, clickhouse, postgres, dragonfly,
firebase, app). Services of other kinds are waited for through their container healthcheck.
"""
from __future__ import annotations

from dataclasses import dataclass

from harness.model import Service, Topology
from harness.runtime import probes

KIND_BY_IMAGE = {"redpanda": "kafka", "clickhouse": "clickhouse", "postgres": "postgres", "dragonfly": "redis",
                 "firebase": "firebase", "app": "http"}


def kind(service: Service) -> str:
    return KIND_BY_IMAGE.get(service.image.name, "container")


@dataclass(frozen=True)
class Endpoint:
    service: str
    name: str
    url: str
    auth: str


@dataclass
class Access:
    """How the host reaches one stack: published host ports and local secret values."""

    topology: Topology
    secrets: dict[str, str]
    port_offset: int = 0
    host: object = None  # the running Host (harness.targets.base.Host): which ports the host machine reaches

    def published(self, service: Service, port) -> bool:
        return self.host.published(self.topology, service, port) if self.host is not None else bool(port.publish)

    def host_port(self, service: Service, port_name: str) -> int | None:
        port = service.port(port_name)
        return port.port + self.port_offset if port is not None and self.published(service, port) else None

    def first_published(self, service: Service, protocol: str | None = None):
        return next((p for p in service.ports if self.published(service, p)
                     and (protocol is None or p.protocol == protocol)), None)

    def secret_for(self, service: Service, var: str) -> str:
        name = dict(service.secrets).get(var, "")
        return self.secrets.get(name, "")

    def kafka_user(self, superuser: bool = False):
        users = [u for u in self.topology.kafka_users if u.superuser == superuser] or list(self.topology.kafka_users)
        u = users[0]
        return u.name, self.secrets.get(u.password_secret, "")

    # ---- per kind --------------------------------------------------------------------------------------------

    def kafka_bootstrap(self, service: Service) -> str:
        p = self.first_published(service)
        return f"127.0.0.1:{p.port + self.port_offset}" if p else ""

    def probes(self, service: Service, container) -> list[probes.Probe]:
        k = kind(service)
        env = dict(service.env)
        if k == "kafka" and self.first_published(service):
            user, password = self.kafka_user(superuser=True)
            return [probes.KafkaProbe(service.name, self.kafka_bootstrap(service), user, password,
                                      self.topology.kafka_mechanism)]
        if k == "clickhouse" and self.first_published(service, "http"):
            p = self.first_published(service, "http")
            return [probes.ClickHouseProbe(service.name, f"http://127.0.0.1:{p.port + self.port_offset}/",
                                           env.get("CLICKHOUSE_USER", "default"), self.secret_for(service, "CLICKHOUSE_PASSWORD"))]
        if k == "postgres" and self.first_published(service):
            p = self.first_published(service)
            dsn = (f"host=127.0.0.1 port={p.port + self.port_offset} user={env.get('POSTGRES_USER', 'postgres')} "
                   f"dbname={env.get('POSTGRES_DB', env.get('POSTGRES_USER', 'postgres'))}")
            return [probes.PostgresProbe(service.name, dsn, self.secret_for(service, "POSTGRES_PASSWORD"))]
        if k == "redis" and self.first_published(service):
            return [probes.RedisProbe(service.name, "127.0.0.1", self.first_published(service).port + self.port_offset)]
        if k == "firebase":
            out: list[probes.Probe] = []
            fs, auth = self.host_port(service, "firestore"), self.host_port(service, "auth")
            if fs:
                out.append(probes.FirestoreProbe(service.name, f"127.0.0.1:{fs}", env.get("FIREBASE_PROJECT", "demo-topo")))
            if auth:
                out.append(probes.AuthProbe(service.name, f"127.0.0.1:{auth}"))
            if out:
                return out
        hc = service.healthcheck
        if k == "http" and hc is not None and hc.kind == "http" and self.host_port(service, hc.port or ""):
            return [probes.HttpProbe(service.name, f"http://127.0.0.1:{self.host_port(service, hc.port)}{hc.path}")]
        if hc is not None:
            return [probes.ContainerHealthProbe(service.name, container)]
        return []

    def endpoints(self, service: Service) -> list[Endpoint]:
        k = kind(service)
        env = dict(service.env)
        out = []
        for p in service.ports:
            if not self.published(service, p):
                continue
            host = f"127.0.0.1:{p.port + self.port_offset}"
            if k == "kafka":
                user, _ = self.kafka_user()
                secret = next(u.password_secret for u in self.topology.kafka_users if u.name == user)
                out.append(Endpoint(service.name, p.name, f"kafka://{host}",
                                    f"SASL_PLAINTEXT {self.topology.kafka_mechanism}, user {user}, "
                                    f"password in .topo/secrets/{secret}"))
            elif k == "clickhouse":
                out.append(Endpoint(service.name, p.name, f"http://{host}/",
                                    f"HTTP basic, user {env.get('CLICKHOUSE_USER', 'default')}, password in "
                                    f".topo/secrets/{dict(service.secrets).get('CLICKHOUSE_PASSWORD', '?')}"))
            elif k == "postgres":
                out.append(Endpoint(service.name, p.name,
                                    f"postgresql://{env.get('POSTGRES_USER', 'postgres')}@{host}/{env.get('POSTGRES_DB', '')}",
                                    f"password in .topo/secrets/{dict(service.secrets).get('POSTGRES_PASSWORD', '?')}"))
            elif k == "redis":
                out.append(Endpoint(service.name, p.name, f"redis://{host}", "none (cache, loopback only)"))
            elif k == "firebase":
                what = {"auth": "Auth emulator (sign up with any email; tokens are unsigned)",
                        "firestore": "Firestore emulator (header `Authorization: Bearer owner` bypasses rules)",
                        "functions": "Functions emulator (callables need an Auth ID token)"}.get(p.name, "emulator")
                out.append(Endpoint(service.name, p.name, f"http://{host}", what))
            else:
                out.append(Endpoint(service.name, p.name, f"{p.protocol if p.protocol in ('http', 'https') else 'tcp'}://{host}",
                                    "Firebase ID token for /api actions" if service.name == "backend" else "public"))
        return out
