"""The offline STAND-INs are at least as strict as the upstream images on what the rendering relies on
(harness/fidelity.py): each case runs the stand-in image for real with a command the upstream image refuses, and
shows it refused here too — then the fixed command starting. The pre-fix rendering's own command lines are kept
here as the broken variants.

Needs Docker and the stand-in images (`topo images build --offline`); on a machine that pulled the real images these
tests are skipped, since then there is no stand-in to hold to the facts (the fidelity table still applies)."""
from __future__ import annotations

import subprocess
import time
import uuid
from pathlib import Path

import pytest

from harness.loader import load
from harness.runtime import images

pytestmark = pytest.mark.docker
ROOT = Path(__file__).resolve().parent.parent
TOPOLOGY, _ = load(ROOT / "topology.yaml")

# The rendering before the fidelity fixes (topology.yaml at b4dbab1), as the real images would have received it.
PRE_FIX_REDPANDA = ["redpanda", "start", "--mode=dev-container", "--smp=1", "--default-log-level=warn",
                    "--kafka-addr=internal://0.0.0.0:9092", "--advertise-kafka-addr=internal://127.0.0.1:9092",
                    "--set=redpanda.enable_sasl=true", '--set=redpanda.superusers=["admin"]']
PRE_FIX_DRAGONFLY = ["dragonfly", "--logtostderr", "--cache_mode=true", "--port=6379", "--dbfilename="]


def ref(name: str) -> str:
    image = TOPOLOGY.images[name]
    st = images.state(image)
    if st.origin != "stand-in":
        pytest.skip(f"{image.ref} is {st.origin}, not a stand-in")
    return image.ref


def run(image: str, *args: str, opts: tuple[str, ...] = (), timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", "run", "--rm", "--name", f"topo-standin-test-{uuid.uuid4().hex[:8]}", *opts,
                           image, *args], capture_output=True, text=True, timeout=timeout)


class Started:
    """A detached container, always removed."""

    def __init__(self, image: str, *args: str, opts: tuple[str, ...] = ()):
        self.name = f"topo-standin-test-{uuid.uuid4().hex[:8]}"
        subprocess.run(["docker", "run", "-d", "--name", self.name, *opts, image, *args], check=True,
                       capture_output=True, text=True, timeout=60)

    def exec(self, *cmd: str) -> subprocess.CompletedProcess:
        return subprocess.run(["docker", "exec", self.name, *cmd], capture_output=True, text=True, timeout=30)

    def wait_log(self, needle: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        logs = ""
        while time.monotonic() < deadline:
            logs = subprocess.run(["docker", "logs", self.name], capture_output=True, text=True, timeout=30)
            logs = logs.stdout + logs.stderr
            if needle in logs:
                return logs
            time.sleep(0.3)
        raise AssertionError(f"{self.name}: '{needle}' not in its log within {timeout:.0f} s:\n{logs[-2000:]}")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        subprocess.run(["docker", "rm", "-f", self.name], capture_output=True, timeout=60)


# --- Redpanda -------------------------------------------------------------------------------------------------

def test_redpanda_standin_refuses_the_pre_fix_one_token_set():
    out = run(ref("redpanda"), *PRE_FIX_REDPANDA, "--memory=1G")
    assert out.returncode == 1 and "Argument parse error" in out.stderr and "--set=redpanda.enable_sasl" in out.stderr


def test_redpanda_standin_refuses_to_start_without_memory():
    fixed = [a for a in PRE_FIX_REDPANDA if not a.startswith("--set=")]
    out = run(ref("redpanda"), *fixed)
    assert out.returncode == 1 and "no --memory given" in out.stderr


def test_redpanda_standin_refuses_more_memory_than_the_container_has():
    out = run(ref("redpanda"), "redpanda", "start", "--memory=2G", opts=("-m", "1g"))
    assert out.returncode == 1 and "more than the container's memory limit" in out.stderr


def test_redpanda_standin_takes_rpk_two_argument_set_and_turns_sasl_on():
    with Started(ref("redpanda"), "redpanda", "start", "--memory=1G", "--set", "redpanda.enable_sasl=true",
                 "--set", 'redpanda.superusers=["admin"]', opts=("-e", "RP_BOOTSTRAP_USER=admin:pw:SCRAM-SHA-256")) as c:
        logs = c.wait_log("KRaft; listeners")
        assert "authorization on (deny unless an ACL allows)" in logs and "User:admin" in logs


def test_redpanda_standin_without_enable_sasl_is_anonymous_like_upstream():
    with Started(ref("redpanda"), "redpanda", "start", "--memory=1G") as c:
        assert "SASL OFF" in c.wait_log("KRaft; listeners")


def test_redpanda_standin_health_exits_0_when_unhealthy_like_rpk():
    """`rpk cluster health` without -e exits 0 even while the broker is not ready (rpk health.go)."""
    with Started(ref("redpanda"), "redpanda", "start", "--memory=1G") as c:
        c.wait_log("KRaft; listeners")
        out = c.exec("rpk", "cluster", "health")
        assert out.returncode == 0 and "Healthy:" in out.stdout


# --- Dragonfly ------------------------------------------------------------------------------------------------

def test_dragonfly_standin_refuses_the_pre_fix_command_on_two_cpus():
    """The pre-fix command (no threads, no maxmemory) in its pre-fix 256 MiB limit, on 2 CPUs: Dragonfly sizes 2
    threads, needs 512 MiB and exits."""
    out = run(ref("dragonfly"), *PRE_FIX_DRAGONFLY, opts=("-m", "256m", "--cpus", "2"))
    assert out.returncode == 1 and "There are 2 threads, so 512MiB are required. Exiting..." in out.stderr


def test_dragonfly_standin_enforces_the_floor_per_thread():
    out = run(ref("dragonfly"), "dragonfly", "--proactor_threads=1", "--maxmemory=128mb")
    assert out.returncode == 1 and "There are 1 threads, so 256MiB are required" in out.stderr


def test_dragonfly_standin_exits_on_an_unknown_flag():
    out = run(ref("dragonfly"), "dragonfly", "--proactor_threads=1", "--maxmemory=256mb", "--snapshot_every=1")
    assert out.returncode == 1 and "Unknown command line flag 'snapshot_every'" in out.stderr


def test_dragonfly_standin_starts_with_the_rendered_command():
    service = TOPOLOGY.service("dragonfly")
    with Started(ref("dragonfly"), *service.command,
                 opts=("-m", f"{service.resources.memory_mib}m", "--cpus", "2")) as c:
        c.wait_log("1 thread(s), maxmemory 256MiB")
        assert c.exec("redis-cli", "ping").stdout.strip() == "PONG"


# --- init phases ----------------------------------------------------------------------------------------------

def _slow_init(tmp_path: Path, name: str, body: str) -> tuple[str, ...]:
    folder = tmp_path / "initdb"
    folder.mkdir()
    (folder / name).write_text(body)
    (folder / name).chmod(0o755)
    folder.chmod(0o755)
    return ("-v", f"{folder}:/docker-entrypoint-initdb.d:ro")


def test_postgres_standin_answers_on_the_socket_but_not_tcp_during_init(tmp_path):
    """During init the temporary server listens on the unix socket only: a socket pg_isready would say 'ready'."""
    opts = _slow_init(tmp_path, "10-slow.sh", "#!/bin/bash\ntouch /tmp/init-running\nsleep 8\n")
    with Started(ref("postgres"), opts=("-e", "POSTGRES_PASSWORD=pw", "-e", "POSTGRES_USER=deml", *opts)) as c:
        c.wait_log("running /docker-entrypoint-initdb.d/10-slow.sh")
        socket = c.exec("pg_isready", "-U", "deml")
        tcp = c.exec("pg_isready", "-h", "127.0.0.1", "-U", "deml")
        assert socket.returncode == 0, socket.stdout
        assert tcp.returncode != 0, f"TCP answered during init: {tcp.stdout}"


def test_clickhouse_standin_answers_on_loopback_but_not_its_address_during_init(tmp_path):
    opts = _slow_init(tmp_path, "10-slow.sh", "#!/bin/bash\nsleep 8\n")
    with Started(ref("clickhouse"), opts=("-e", "CLICKHOUSE_DB=deml", "-e", "CLICKHOUSE_USER=deml",
                                          "-e", "CLICKHOUSE_PASSWORD=pw", *opts)) as c:
        c.wait_log("10-slow.sh", timeout=90)
        loop = c.exec("sh", "-c", "wget -q -O /dev/null http://127.0.0.1:8123/ping")
        own = c.exec("sh", "-c", 'wget -q -T 2 -O /dev/null "http://$(hostname):8123/ping"')
        assert loop.returncode == 0, loop.stderr
        assert own.returncode != 0, "the container's own address answered during init"
