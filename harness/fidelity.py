"""Upstream fidelity: the facts about the upstream images that a rendering relies on, each with the source it was
read in, how the offline STAND-IN reproduces it (or why it cannot), and a check of the topology against it.

Data first (FACTS), like harness/aws/limits.py: `topo images ls --fidelity` prints it, `topo validate` reports a
topology that breaks a fact (so the real image would not start, or would refuse the app), and
tests/test_fidelity.py shows each check failing on a topology that breaks it.

`verified` says how WE know: "read" = read in the upstream source named (we cannot run the upstream image here: no
container registry answers); "run" = also reproduced by running the stand-in. Sources were read on 2026-11-27.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from harness.errors import Problem
from harness.model import Service, Topology

MIB = 1 << 20


@dataclass(frozen=True)
class Fact:
    id: str
    image: str  # upstream repository the fact is about
    fact: str
    source: str
    standin: str  # how the stand-in reproduces it, or why it cannot
    verified: str  # read | read+run
    check: Callable[[Topology], list[Problem]]


def repository(ref: str) -> str:
    """Repository part of an image ref, without registry host and tag."""
    name = ref.rsplit("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last)] + last.split(":", 1)[0]
    parts = name.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]
    return "/".join(parts)


def tag(ref: str) -> str:
    last = ref.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else "latest"


def services_of(t: Topology, repo: str) -> list[Service]:
    return [s for s in t.services if s.image.ref and repository(s.image.ref) == repo]


def to_bytes(text: str, binary_default: bool = True) -> int | None:
    """Sizes as Redpanda/Seastar and Dragonfly take them: 1G, 256mb, 1536M, 2GiB, 536870912 (binary units)."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)", text.strip().lower())
    if not m:
        return None
    scale = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}[m.group(2)]
    return int(float(m.group(1)) * scale)


def flag_value(command: tuple[str, ...], flag: str) -> str | None:
    """Value of --flag in `--flag=value` or `--flag value` form (None when absent)."""
    for i, arg in enumerate(command):
        if arg.startswith(flag + "="):
            return arg.split("=", 1)[1]
        if arg == flag and i + 1 < len(command):
            return command[i + 1]
    return None


def _cmd_key(s: Service, index: int | None = None) -> str:
    return f"{s.key}.command" + (f"[{index}]" if index is not None else "")


# --- Redpanda -----------------------------------------------------------------------------------------------

REDPANDA = "redpandadata/redpanda"


def _redpanda_set_grammar(t: Topology) -> list[Problem]:
    out = []
    for s in services_of(t, REDPANDA):
        for i, arg in enumerate(s.command):
            if arg.startswith("--set="):
                out.append(t.problem(_cmd_key(s, i), f"'{arg}' is one token: rpk takes `--set` and `KEY=VALUE` as two "
                                     "arguments and hands this one to the redpanda binary, which exits at start",
                                     f"write `--set`, `{arg[len('--set='):]}` as two list items"))
            elif arg == "--set" and (i + 1 >= len(s.command) or "=" not in s.command[i + 1]):
                out.append(t.problem(_cmd_key(s, i), "`--set` must be followed by KEY=VALUE", "add the KEY=VALUE item"))
    return out


def _redpanda_memory(t: Topology) -> list[Problem]:
    out = []
    for s in services_of(t, REDPANDA):
        mem = flag_value(s.command, "--memory")
        if mem is None:
            out.append(t.problem(_cmd_key(s), "no --memory: in dev-container mode rpk sets --reserve-memory 0M and the "
                                 "broker claims all the memory it sees", "add `--memory=1G` (at most the service's memory)"))
            continue
        size = to_bytes(mem)
        if size is None:
            out.append(t.problem(_cmd_key(s), f"--memory '{mem}' is not a size", "write e.g. 1G"))
        elif s.resources and size > s.resources.memory_mib * MIB:
            out.append(t.problem(_cmd_key(s), f"--memory {mem} is more than the service's memory "
                                 f"({s.resources.memory_mib} MiB): Seastar refuses to start", "lower --memory"))
    return out


def _sasl_on(s: Service) -> bool:
    cmd = s.command
    return any(cmd[i] == "--set" and i + 1 < len(cmd) and cmd[i + 1] in ("redpanda.enable_sasl=true", "enable_sasl=true")
               for i in range(len(cmd)))


def _redpanda_default_deny(t: Topology) -> list[Problem]:
    out = []
    if not services_of(t, REDPANDA):
        return out
    for u in t.kafka_users:
        if not u.superuser and not u.acls:
            out.append(t.problem(u.key, f"'{u.name}' has no ACLs: with SASL on, Redpanda denies a non-superuser "
                                 "everything no ACL allows", "declare its `acls:`"))
    for s in services_of(t, REDPANDA):
        if not _sasl_on(s):
            out.append(t.problem(_cmd_key(s), "SASL is not enabled: the broker would accept anonymous clients",
                                 "add `--set`, `redpanda.enable_sasl=true`"))
    return out


def _redpanda_superusers(t: Topology) -> list[Problem]:
    out = []
    for s in services_of(t, REDPANDA):
        listed: set[str] = set()
        for i, arg in enumerate(s.command):
            value = s.command[i + 1] if arg == "--set" and i + 1 < len(s.command) else ""
            if value.startswith(("redpanda.superusers=", "superusers=")):
                listed |= set(re.findall(r"[A-Za-z0-9_.-]+", value.split("=", 1)[1]))
        for u in t.kafka_users:
            if u.superuser and u.name not in listed:
                out.append(t.problem(f"{u.key}.superuser", f"'{u.name}' is a superuser here but not in the broker's "
                                     "superusers: RP_BOOTSTRAP_USER only creates the user",
                                     f"add `--set`, `redpanda.superusers=[\"{u.name}\"]` to {s.name}'s command"))
    return out


def _version(text: str) -> tuple[int, ...] | None:
    m = re.match(r"v?(\d+)\.(\d+)(?:\.(\d+))?", text)
    return tuple(int(x) for x in m.groups() if x is not None) if m else None


def _redpanda_scram_api(t: Topology) -> list[Problem]:
    out = []
    for s in services_of(t, REDPANDA):
        v = _version(tag(s.image.ref))
        if v is not None and v < (25, 2):
            out.append(t.problem(f"{s.image.key}.ref", f"Redpanda {tag(s.image.ref)} has no AlterUserScramCredentials "
                                 "handler (KIP-554 arrived in v25.2), which `topo up` uses to create SASL users",
                                 "pin v25.2 or later (e.g. v26.2.1)"))
    return out


def _redpanda_health(t: Topology) -> list[Problem]:
    out = []
    for s in services_of(t, REDPANDA):
        hc = s.healthcheck
        if hc and hc.kind == "command" and list(hc.command[:3]) == ["rpk", "cluster", "health"] \
                and not {"-e", "--exit-when-healthy"} & set(hc.command):
            out.append(t.problem(hc.key, "`rpk cluster health` exits 0 even when the cluster is unhealthy",
                                 "add --exit-when-healthy (the check's timeout then fails it)"))
    return out


# --- Dragonfly ----------------------------------------------------------------------------------------------

DRAGONFLY = "dragonflydb/dragonfly"
# the flags the stand-in knows (a subset of Dragonfly's; unknown flags make both exit)
DRAGONFLY_FLAGS = {
    "port", "bind", "requirepass", "maxmemory", "dir", "dbfilename", "proactor_threads", "snapshot_cron", "hz",
    "maxclients", "keys_output_limit", "admin_port", "admin_bind", "memcached_port", "num_shards", "v", "vmodule",
    "logbuflevel", "minloglevel", "stderrthreshold", "log_dir", "mem_defrag_threshold", "default_lua_flags",
    "cluster_mode", "interpreter_per_thread", "logtostderr", "alsologtostderr", "cache_mode", "version_check",
    "force_epoll", "primary_port_http_enabled", "admin_nopass", "conn_use_incoming_cpu", "lock_on_hashtags",
    "df_snapshot_format",
}


def _dragonfly_memory(t: Topology) -> list[Problem]:
    out = []
    for s in services_of(t, DRAGONFLY):
        threads = flag_value(s.command, "--proactor_threads")
        if threads is None or not threads.isdigit() or int(threads) == 0:
            out.append(t.problem(_cmd_key(s), "no --proactor_threads: Dragonfly sizes its threads from the CPUs it "
                                 "sees and needs 256 MiB for each", "add `--proactor_threads=1`"))
            continue
        mem = flag_value(s.command, "--maxmemory")
        size = to_bytes(mem) if mem else None
        need = int(threads) * 256 * MIB
        if size is None or size == 0:
            out.append(t.problem(_cmd_key(s), "no --maxmemory: Dragonfly takes 0.8 x the memory it sees",
                                 f"add `--maxmemory={int(threads) * 256}mb`"))
        elif size < need:
            out.append(t.problem(_cmd_key(s), f"--maxmemory {mem} is below 256 MiB x {threads} thread(s): Dragonfly "
                                 f"exits at start (\"There are {threads} threads, so {need // MIB}MiB are required\")",
                                 f"--maxmemory={need // MIB}mb at least"))
        elif s.resources and s.resources.memory_mib * MIB < size:
            out.append(t.problem(f"{s.key}.resources.memory", f"{s.resources.memory_mib} MiB does not fit --maxmemory "
                                 f"{mem}", f"give the service at least {size // MIB + 32}Mi"))
    return out


def _dragonfly_flags(t: Topology) -> list[Problem]:
    out = []
    for s in services_of(t, DRAGONFLY):
        for i, arg in enumerate(s.command[1:] if s.command[:1] == ("dragonfly",) else s.command):
            if not arg.startswith("-"):
                continue
            name = arg.lstrip("-").split("=", 1)[0]
            if name not in DRAGONFLY_FLAGS and not (name.startswith("no") and name[2:] in DRAGONFLY_FLAGS):
                out.append(t.problem(_cmd_key(s), f"'{arg}': Dragonfly exits on an unknown flag (or the stand-in does "
                                     "not know it)", "check the flag's name in `dragonfly --helpfull`"))
    return out


def _dragonfly_registry(t: Topology) -> list[Problem]:
    out = []
    for s in services_of(t, DRAGONFLY):
        host = s.image.ref.split("/")[0]
        if not s.image.registry_env and not ("." in host or ":" in host):
            out.append(t.problem(f"{s.image.key}.ref", "Dragonfly's image is not on Docker Hub (it is published on "
                                 "Dragonfly's own registry and GitHub's container registry): this ref never pulls",
                                 "set `registry_env` (topo pulls REGISTRY/ref) or write the registry in the ref",
                                 severity="warning"))
    return out


# --- Postgres and ClickHouse --------------------------------------------------------------------------------

def _postgres_tcp_health(t: Topology) -> list[Problem]:
    out = []
    for s in services_of(t, "postgres"):
        hc = s.healthcheck
        if hc and hc.kind == "command" and "pg_isready" in hc.command[0] and "-h" not in hc.command \
                and not any(a.startswith("--host") for a in hc.command):
            out.append(t.problem(hc.key, "pg_isready over the unix socket answers during init, when the image's "
                                 "temporary server listens on the socket only", "add `-h`, `127.0.0.1`"))
    return out


def _clickhouse_init_health(t: Topology) -> list[Problem]:
    out = []
    for s in services_of(t, "clickhouse/clickhouse-server"):
        hc = s.healthcheck
        if hc and hc.kind == "command" and any(("127.0.0.1" in a or "localhost" in a) for a in hc.command):
            out.append(t.problem(hc.key, "a check on loopback answers during init, when the image's temporary server "
                                 "listens on 127.0.0.1 only", "use `healthcheck: {http: {path: /ping, port: http}}` "
                                 "(topo sends it to the container's own address)"))
    return out


FACTS: tuple[Fact, ...] = (
    Fact("redpanda-set-grammar", REDPANDA,
         "`--set` and `KEY=VALUE` are two arguments; a one-token `--set=K=V` reaches the redpanda binary, which exits 1",
         "redpanda-data/redpanda v24.2.7 src/go/rpk/pkg/cli/redpanda/start.go L99-106 (parseConfigKvs matches the "
         "exact token `--set`), L893-896 (unknown flags passed on); src/v/redpanda/cli_parser.cc L43-46; "
         "redpanda-data/docs rpk-redpanda-start.adoc (v26.2) lists no --set flag",
         "the stand-in's entrypoint parses rpk's grammar and exits 1 on `--set=...` and on unknown options",
         "read+run", _redpanda_set_grammar),
    Fact("redpanda-memory", REDPANDA,
         "`--mode dev-container` sets --reserve-memory 0M and no --memory: the broker claims all the memory it sees",
         "redpanda-data/redpanda v24.2.7 src/go/rpk/pkg/cli/redpanda/start.go L911-917 (setContainerModeFlags)",
         "stricter: the stand-in refuses to start without --memory, and with more than the container's limit",
         "read+run", _redpanda_memory),
    Fact("redpanda-default-deny", REDPANDA,
         "with SASL on, authorization is on and an empty ACL match is always denied (superusers excepted); "
         "without enable_sasl the listeners take anonymous clients",
         "redpanda-data/redpanda v24.2.7 src/v/security/authorizer.cc L184-196, authorizer.h L278-280; "
         "src/v/kafka/server/server.cc L310-312",
         "Kafka's StandardAuthorizer with allow.everyone.if.no.acl.found=false when enable_sasl=true; PLAINTEXT "
         "listeners without it", "read+run", _redpanda_default_deny),
    Fact("redpanda-superusers", REDPANDA,
         "RP_BOOTSTRAP_USER (user:password[:mechanism]) only creates a SCRAM user when the cluster is founded; "
         "superusers come from the `superusers` property",
         "redpanda-data/redpanda v24.2.7 src/v/cluster/security_frontend.cc L354-393, controller.cc L986-989; "
         "redpanda-data/docs production-deployment.adoc L176-180",
         "the stand-in creates the user at first start only and does not make it a superuser", "read+run",
         _redpanda_superusers),
    Fact("redpanda-scram-api", REDPANDA,
         "AlterUserScramCredentials (KIP-554), which bootstrap uses to create users, exists from v25.2 only",
         "redpanda-data/redpanda: no scram handler under src/v/kafka/server/handlers/ at v24.2.7/v24.3.2; "
         "alter_user_scram_credentials.cc added in 2025 (PR #24935); issue #25138 (\"coming out in 25.2\")",
         "cannot reproduce the absence: the stand-in's Kafka 4.1 has the API; the check pins the version instead",
         "read", _redpanda_scram_api),
    Fact("redpanda-health", REDPANDA,
         "`rpk cluster health` exits 0 even when unhealthy; -e/--exit-when-healthy waits until healthy",
         "redpanda-data/redpanda v24.2.7 src/go/rpk/pkg/cli/cluster/health.go L29, L61",
         "the stand-in's rpk exits 0 when unhealthy and waits with -e", "read+run", _redpanda_health),
    Fact("dragonfly-memory-floor", DRAGONFLY,
         "Dragonfly exits at start when maxmemory < threads x 256 MiB; threads come from --proactor_threads, else "
         "the cgroup CPU quota or the CPUs it may run on; maxmemory unset = 0.8 x available (cgroup-capped)",
         "dragonflydb/dragonfly v1.40.1 src/server/dfly_main.cc L317-321 (RunEngine), L662-734, L1154-1181; "
         "src/server/main_service.cc L106-110; helio util/fibers/proactor_pool.cc L23, L41-46",
         "the stand-in computes threads and maxmemory the same way and exits with Dragonfly's message",
         "read+run", _dragonfly_memory),
    Fact("dragonfly-flags", DRAGONFLY,
         "flags are absl flags: an unknown flag (or unknown DFLY_ variable) exits 1",
         "abseil-cpp absl/flags/parse.cc L739-742 (kAbortIfUndefined), via helio base/init.cc L125; "
         "dragonflydb/dragonfly v1.40.1 src/server/dfly_main.cc L1030-1061",
         "the stand-in refuses unknown flags, and the Dragonfly flags it does not know", "read+run",
         _dragonfly_flags),
    Fact("dragonfly-registry", DRAGONFLY,
         "the image is published on Dragonfly's own registry and GitHub's container registry, not Docker Hub",
         "dragonflydb/dragonfly v1.40.1 .github/workflows/docker-release2.yml L28-29, docs/quick-start/README.md "
         "L20; issue #759 (no Docker Hub image)",
         "not a behaviour: `registry_env` names where topo pulls it from", "read", _dragonfly_registry),
    Fact("postgres-init-health", "postgres",
         "during initdb the image runs a temporary server with listen_addresses='' (unix socket only)",
         "docker-library/postgres 17/bookworm docker-entrypoint.sh L285-301 (docker_temp_server_start)",
         "the stand-in's init runs a socket-only temporary server too", "read+run", _postgres_tcp_health),
    Fact("clickhouse-init-health", "clickhouse/clickhouse-server",
         "with CLICKHOUSE_DB or init scripts, a temporary server listens on 127.0.0.1 only until init is done; "
         "the image has wget, not curl",
         "ClickHouse/docker-library server/26.3.17.110/entrypoint.sh L191, L235, L266; server/Dockerfile.ubuntu",
         "the stand-in's init runs a loopback-only temporary server too", "read+run", _clickhouse_init_health),
)


def check(t: Topology) -> list[Problem]:
    """Every fidelity problem of a topology (empty when the rendering respects each upstream fact)."""
    return [p for fact in FACTS for p in fact.check(t)]
