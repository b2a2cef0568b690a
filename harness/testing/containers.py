"""One service of a topology as a testcontainers container: `container_for(topology, "redpanda")`.

The container runs what the compose target would run for that service — the image ref, the command and environment
with `${svc.host}` resolved to the service names (each container joins a testcontainers `Network` under its service
name as alias), the hardening of `harness.targets.compose.hardening` and its healthcheck — with three differences
that come from being one container in a test:

- secrets are generated in memory (`harness.runtime.secrets.generate`, once per topology and process, so a broker and
  an app container started separately agree on the app user's password) and passed as environment variables;
- published ports are bound on 127.0.0.1 at the topology's port plus an offset chosen free for that container (the
  broker advertises its external address in its command line, so the host port must be known before it starts);
  ports the topology does not publish are reachable on the network only;
- no volumes: the data dies with the container.

Readiness is the runtime's own probes (Kafka metadata over SASL, ClickHouse, Postgres, Redis, a Firestore write and
read, an Auth sign-up; the container healthcheck for app roles), then the service's own share of the bootstrap
(`harness.runtime.bootstrap.run_all` on a topology cut down to the service: SASL users, topics, the topology's ACLs;
SQL and tenants; Firestore tenant documents).

No registry is needed: a missing image is an error naming `topo images build`, and Ryuk (testcontainers' reaper,
an image from a registry) is switched off when its image is not on the machine — every container here is then
removed by `stop()`, by the context manager, or when `start()` itself fails.
"""
from __future__ import annotations

import difflib
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterator

from testcontainers.core.container import DockerContainer
from testcontainers.core.network import Network

from harness import clients
from harness.errors import TopoError
from harness.model import Service, Topology, resolve
from harness.runtime import bootstrap, probes
from harness.runtime import secrets as secrets_mod
from harness.runtime.services import Access, Endpoint, kind
from harness.runtime.stack import free_port_offset
from harness.targets import compose
from harness.testing.stack import load_topology

__all__ = ["TopologyContainer", "RedpandaSaslContainer", "FirebaseEmulatorContainer", "container_for",
           "secret_values", "spec_for", "started", "ContainerSpec"]

_LOCK = threading.Lock()
_SECRETS: dict[tuple[str, str], dict[str, str]] = {}  # (topology file, project) → values, for this process
_RESERVED: set[int] = set()  # host ports promised to containers of this process that have not stopped yet


def secret_values(topology: Topology) -> dict[str, str]:
    """The topology's secret values for this process: made once, shared by every container started from it."""
    key = (str(Path(topology.file).resolve()), topology.project)
    with _LOCK:
        if key not in _SECRETS:
            _SECRETS[key] = secrets_mod.generate(topology)
        return _SECRETS[key]


def _service(topology: Topology, name: str) -> Service:
    service = topology.service(name)
    if service is None:
        names = [s.name for s in topology.services]
        close = difflib.get_close_matches(name, names, n=1)
        raise TopoError(f"{topology.file}: no service {name!r}; "
                        + (f"did you mean {close[0]!r}? " if close else "")
                        + f"the topology declares {', '.join(names)}")
    return service


def _reserve_offset(topology: Topology, service: Service) -> int:
    """An offset under which the service's published ports are free on 127.0.0.1 and not promised to another
    container of this process."""
    ports = [p.port for p in service.ports if p.publish]
    with _LOCK:
        for _ in range(20):
            offset = free_port_offset(replace(topology, services=(service,)))
            wanted = {p + offset for p in ports}
            if not wanted & _RESERVED:
                _RESERVED.update(wanted)
                return offset
    raise TopoError(f"no free range of ports on 127.0.0.1 for {service.name}")


def _nanoseconds(duration: str) -> int:
    """'5s' (compose's notation, as compose.healthcheck writes it) → nanoseconds (the Docker API's)."""
    return int(float(duration.rstrip("s")) * 1_000_000_000)


def docker_options(service: Service) -> dict[str, Any]:
    """The compose target's hardening and healthcheck of a service as Docker SDK `create` options."""
    hard = compose.hardening(service)
    opts: dict[str, Any] = {"security_opt": hard["security_opt"]}
    for key in ("user", "read_only", "cap_drop"):
        if key in hard:
            opts[key] = hard[key]
    hc = compose.healthcheck(service)
    if hc is not None:
        opts["healthcheck"] = {"test": [t.replace("$$", "$") for t in hc["test"]], "retries": hc["retries"],
                               **{k: _nanoseconds(hc[k]) for k in ("interval", "timeout", "start_period")}}
    return opts


@dataclass(frozen=True)
class ContainerSpec:
    """What a service's container is created with (no Docker needed to compute it; TopologyContainer applies it)."""
    topology: Topology
    service: Service
    secrets: dict[str, str]
    port_offset: int
    image: str
    command: tuple[str, ...]
    env: dict[str, str]
    ports: dict[str, tuple[str, int]]  # "PORT/tcp" → ("127.0.0.1", host port): published ports only
    tmpfs: dict[str, str]  # path → mount options
    options: dict[str, Any]  # Docker SDK create() options: hardening, healthcheck, labels


def spec_for(topology: Topology | str | Path, service_name: str, *, secrets: dict[str, str] | None = None,
             port_offset: int | None = None) -> ContainerSpec:
    """The container of `service_name` as the compose target runs it, for one container in a test: `${svc.host}`
    → the service's name (its alias on the network), secrets as environment variables, published ports on
    127.0.0.1 at port + offset (an offset free on this machine when not given)."""
    t = load_topology(topology)
    service = _service(t, service_name)
    values = dict(secrets) if secrets is not None else secret_values(t)
    missing = sorted({name for _var, name in service.secrets} - set(values))
    if missing:
        raise TopoError(f"{service.name}: no value for secret(s) {', '.join(missing)}; pass them in secrets= "
                        "or leave secrets= out to have them generated")
    offset = _reserve_offset(t, service) if port_offset is None else port_offset

    def published(port) -> int:
        return port.port + offset

    env = {k: resolve(t, v, lambda o: o.name, published) for k, v in service.env}
    env.update({var: values[name] for var, name in service.secrets})
    options = {"labels": {"org.topo.project": t.project, "org.topo.service": service.name,
                          "org.topo.role": service.role, "org.topo.testcontainer": "true"},
               **docker_options(service)}
    return ContainerSpec(
        t, service, values, offset, service.image.ref,
        tuple(resolve(t, c, lambda o: o.name, published) for c in service.command), env,
        {f"{p.port}/{'udp' if p.protocol == 'udp' else 'tcp'}": ("127.0.0.1", published(p))
         for p in service.ports if p.publish},  # never 0.0.0.0; unpublished ports stay on the container network
        dict(entry.split(":", 1) for entry in compose.hardening(service).get("tmpfs", [])), options)


def _ryuk_or_none() -> None:
    """Ryuk needs its image; where it is not on the machine (no registry), run without it: our own stop() and
    context managers remove every container."""
    from testcontainers.core.config import testcontainers_config as tc

    if tc.ryuk_disabled:
        return
    import docker

    client = docker.from_env()
    try:
        client.images.get(tc.ryuk_image)
    except docker.errors.ImageNotFound:
        tc.ryuk_disabled = True
    finally:
        client.close()


class TopologyContainer(DockerContainer):
    """One service of a topology, configured as the compose target runs it (see the module's docstring).

    `topology` is a loaded Topology or a path to topology.yaml. `network` is a testcontainers Network: the container
    joins it as its service name, which is the host `${svc.host}` resolves to. `secrets` overrides the generated
    values (name → value); `port_offset` fixes the host ports (published port + offset); `bootstrap=False` skips the
    service's bootstrap; `startup_timeout` bounds the probes, in seconds.
    """

    def __init__(self, topology: Topology | str | Path, service_name: str, *, network: Network | None = None,
                 secrets: dict[str, str] | None = None, port_offset: int | None = None, bootstrap: bool = True,
                 startup_timeout: float = 240.0, root: str | Path | None = None, **kwargs: Any) -> None:
        spec = spec_for(topology, service_name, secrets=secrets, port_offset=port_offset)
        self.spec, self.topology, self.service = spec, spec.topology, spec.service
        self.secrets, self.port_offset = spec.secrets, spec.port_offset
        self._bootstrap, self.startup_timeout = bootstrap, startup_timeout
        self._fixed_offset = port_offset is not None
        self.root = Path(root) if root is not None else Path(spec.topology.file).resolve().parent  # bootstrap SQL
        self.start_seconds: dict[str, float] = {}  # after start(): "ready" (probes passed), "bootstrap", "total"
        self.bootstrap_lines: list[str] = []
        super().__init__(spec.image, command=list(spec.command) or None, env=dict(spec.env), network=network,
                         network_aliases=[spec.service.name] if network is not None else None,
                         **{**spec.options, **kwargs})
        self.tmpfs.update(spec.tmpfs)
        self.ports.update(spec.ports)

    # ---- what the host reaches ------------------------------------------------------------------------------

    @property
    def access(self) -> Access:
        """The runtime's view of this one service: its probes, endpoints and bootstrap read it."""
        t = self.topology
        alone = replace(t, services=(self.service,),
                        bootstrap={k: v for k, v in t.bootstrap.items() if k == self.service.name})
        return Access(alone, self.secrets, self.port_offset)

    def host_port(self, port_name: str) -> int:
        """The 127.0.0.1 port that reaches the service's published port `port_name`."""
        port = self.access.host_port(self.service, port_name)
        if port is None:
            published = [p.name for p in self.service.ports if p.publish]
            raise TopoError(f"{self.service.name} publishes no port {port_name!r}; it publishes "
                            f"{', '.join(published) or 'none'} (ports not published are reachable on the network)")
        return port

    def endpoints(self) -> list[Endpoint]:
        return self.access.endpoints(self.service)

    def secret(self, variable: str) -> str:
        """The value the container receives in `variable` (one of the service's declared secrets)."""
        return self.access.secret_for(self.service, variable)

    def probes(self) -> list[probes.Probe]:
        return self.access.probes(self.service, self.get_container_id)

    # ---- lifecycle -------------------------------------------------------------------------------------------

    def start(self) -> "TopologyContainer":
        import docker

        if self._container is not None:
            raise TopoError(f"{self.service.name}: this container is already started (a `with` block starts it; "
                            "do not also call start())")
        client = docker.from_env()
        try:
            client.images.get(self.image)
        except docker.errors.ImageNotFound:
            _release(self.spec)
            raise TopoError(f"{self.service.name}: image {self.image} is not on this machine; run `topo images build` "
                            "(it builds ours and, with no registry, the offline stand-ins)") from None
        finally:
            client.close()
        _ryuk_or_none()
        t0 = time.monotonic()
        try:
            for attempt in range(5):
                try:
                    super().start()
                    break
                except docker.errors.APIError as exc:
                    # the port was free when chosen, but the engine gave it to another container since (with
                    # userland-proxy off, a published port is not a socket a bind test sees): choose again
                    if "port is already allocated" not in str(exc) or self._fixed_offset or attempt == 4:
                        raise
                    self._remove()
                    self._choose_ports_again()
            for probe in self.probes():
                budget = max(1.0, self.startup_timeout - (time.monotonic() - t0))
                probes.probe_wait(probe, budget, hint=f"the container's logs: docker logs {self.get_container_id()[:12]}"
                                  ).wait_until_ready(self)
            self.start_seconds["ready"] = round(time.monotonic() - t0, 2)
            if self._bootstrap:
                t1 = time.monotonic()
                self.bootstrap_lines = self.run_bootstrap()
                self.start_seconds["bootstrap"] = round(time.monotonic() - t1, 2)
            self.start_seconds["total"] = round(time.monotonic() - t0, 2)
        except BaseException:
            self.stop()
            raise
        return self

    def _choose_ports_again(self) -> None:
        _release(self.spec)
        old = set(self.spec.ports)
        self.spec = spec_for(self.topology, self.service.name, secrets=self.secrets)
        self.port_offset = self.spec.port_offset
        self._command, self.env = list(self.spec.command) or None, dict(self.spec.env)
        self.ports = {k: v for k, v in self.ports.items() if k not in old} | self.spec.ports

    def _remove(self) -> None:
        import docker

        if self._container is not None:
            try:
                self._container.remove(force=True, v=True)
            except docker.errors.NotFound:
                pass
            self._container = None

    def run_bootstrap(self, say: Callable[[str], None] | None = None) -> list[str]:
        """This service's share of `topo up`'s bootstrap (idempotent); returns what it did, one line per step."""
        lines: list[str] = []
        bootstrap.run_all(self.access, self.root, lambda line: (lines.append(line), say and say(line)))
        return lines

    def stop(self, force: bool = True, delete_volume: bool = True) -> None:
        """Remove the container (and its anonymous volumes); harmless when it is already gone."""
        try:
            self._remove()
            self.get_docker_client().client.close()
        finally:
            _release(self.spec)


def _release(spec: ContainerSpec) -> None:
    with _LOCK:
        _RESERVED.difference_update(port for _ip, port in spec.ports.values())


class RedpandaSaslContainer(TopologyContainer):
    """The topology's broker (a `kafka` kind service): SASL/SCRAM only, the topology's users with exactly their
    ACLs (everything else denied), its topics with their partitions.

        with RedpandaSaslContainer("topology.yaml") as broker:
            producer = confluent_kafka.Producer(broker.client_config(user="deml-app"))
    """

    def __init__(self, topology: Topology | str | Path, service_name: str | None = None, **kwargs: Any) -> None:
        t = load_topology(topology)
        super().__init__(t, service_name or _first_of_kind(t, "kafka"), **kwargs)

    def bootstrap_servers(self) -> str:
        """host:port of the listener the host reaches (the topology's published Kafka port)."""
        servers = self.access.kafka_bootstrap(self.service)
        if not servers:
            raise TopoError(f"{self.service.name} publishes no port; publish its external Kafka listener")
        return servers

    def client_config(self, user: str | None = None, password: str | None = None, **extra: Any) -> dict:
        """A confluent-kafka configuration for `user` over SASL (the runtime's own client settings); by default the
        topology's first non-superuser. `password` overrides the generated one (e.g. to be refused)."""
        users = {u.name: u for u in self.topology.kafka_users}
        if user is None:
            user, _ = self.access.kafka_user(superuser=False)
        if user not in users:
            raise TopoError(f"no Kafka user {user!r} in {self.topology.file}; its users: {', '.join(users) or 'none'}")
        secret = self.secrets.get(users[user].password_secret, "") if password is None else password
        probe = probes.KafkaProbe(self.service.name, self.bootstrap_servers(), user, secret, self.topology.kafka_mechanism)
        return {**probe.config(), "log_level": 0, **extra}


class FirebaseEmulatorContainer(TopologyContainer):
    """The topology's Firebase emulator (Firestore, Auth, Functions) with the tenants' documents written.
    `wait_functions` (default True) also waits until the image's own healthcheck sees the Functions emulator's
    triggers loaded, so `functions_url()` answers at once."""

    def __init__(self, topology: Topology | str | Path, service_name: str | None = None, *,
                 wait_functions: bool = True, **kwargs: Any) -> None:
        t = load_topology(topology)
        super().__init__(t, service_name or _first_of_kind(t, "firebase"), **kwargs)
        self.wait_functions = wait_functions

    @property
    def project_id(self) -> str:
        return dict(self.service.env).get("FIREBASE_PROJECT", "demo-topo")

    def firestore_host(self) -> str:
        """host:port, the value FIRESTORE_EMULATOR_HOST takes for a client on this machine."""
        return f"127.0.0.1:{self.host_port('firestore')}"

    def auth_host(self) -> str:
        """host:port, the value FIREBASE_AUTH_EMULATOR_HOST takes for a client on this machine."""
        return f"127.0.0.1:{self.host_port('auth')}"

    def functions_url(self) -> str:
        """Base URL of the Functions emulator: a callable is at {url}/{project}/{region}/{name}."""
        return f"http://127.0.0.1:{self.host_port('functions')}"

    def sign_in(self, tenant: str) -> clients.FirebaseUser:
        """A new Auth user with the custom claim tenant_id=tenant, signed in: its ID token carries the claim."""
        return clients.sign_in(self.auth_host(), self.project_id, tenant)

    def id_token(self, tenant: str) -> str:
        return self.sign_in(tenant).id_token

    def probes(self) -> list[probes.Probe]:
        found = super().probes()
        if self.wait_functions and self.service.healthcheck is not None:
            found.append(probes.ContainerHealthProbe(self.service.name, self.get_container_id,
                                                     what="container healthcheck (Functions triggers loaded)"))
        return found


def _first_of_kind(topology: Topology, k: str) -> str:
    found = next((s.name for s in topology.services if kind(s) == k), None)
    if found is None:
        raise TopoError(f"{topology.file}: no {k} service (services of kind {k} use the image key "
                        f"{ {'kafka': 'redpanda', 'firebase': 'firebase'}.get(k, k)!r})")
    return found


@contextmanager
def started(*containers: TopologyContainer) -> Iterator[tuple[TopologyContainer, ...]]:
    """Start several containers at once (each waits for its own probes and bootstraps itself) and remove all of
    them on leaving the block — or as soon as one fails to start, with that failure raised."""
    from concurrent.futures import ThreadPoolExecutor

    try:
        with ThreadPoolExecutor(max_workers=max(1, len(containers))) as pool:
            for future in [pool.submit(c.start) for c in containers]:
                future.result()
        yield containers
    finally:
        for c in containers:
            c.stop()


CLASSES = {"kafka": RedpandaSaslContainer, "firebase": FirebaseEmulatorContainer}


def container_for(topology: Topology | str | Path, service_name: str, *, network: Network | None = None,
                  **kwargs: Any) -> TopologyContainer:
    """The container of one service, as the compose target runs it: RedpandaSaslContainer for the broker,
    FirebaseEmulatorContainer for the emulator, TopologyContainer for the others (postgres, clickhouse,
    dragonfly, app roles). Keyword arguments: see TopologyContainer."""
    t = load_topology(topology)
    cls = CLASSES.get(kind(_service(t, service_name)), TopologyContainer)
    return cls(t, service_name, network=network, **kwargs)
