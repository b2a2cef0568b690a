"""Cloud Run's limits the cloudrun target enforces — data, each row with its source.

Sources (read 2026-11-28; "verified" = the text was read, "run" = checked by running code here, "inferred" = worked
out from what was read, said where it applies):
- PROTO: the published Cloud Run Admin v2 API model, PyPI google-cloud-run 0.16.2 (the googleapis protos
  google/cloud/run/v2/*.proto as proto-plus types), file:line under google/cloud/run_v2/types/. tests/
  test_cloudrun_render.py parses every rendered service into `google.cloud.run_v2.types.Service` (run).
- DOCS: cloud.google.com/run/docs pages (URL paths below), read through the stored-page search on 2026-11-28.
- ANNOTATIONS: Cloud Run Admin API v1 ObjectMeta.annotations, the list of `run.googleapis.com/*` and
  `autoscaling.knative.dev/*` annotations and the resource each applies to (googleapis discovery document, as
  generated in openapi-directory APIs/googleapis.com/run/v1 ObjectMeta.md) — verified.
"""
from __future__ import annotations

import math

PROTO = "google-cloud-run 0.16.2 google/cloud/run_v2/types/"
DOCS = "cloud.google.com/run/docs/"
ANNOTATIONS_SOURCE = ("Cloud Run Admin API v1 ObjectMeta.annotations (autoscaling.knative.dev/minScale|maxScale, "
                      "run.googleapis.com/cpu-throttling|container-dependencies|execution-environment|"
                      "network-interfaces|vpc-access-egress: Revision; run.googleapis.com/ingress: Service)")

# ---- CPU and memory (DOCS configuring/services/cpu, verified) ------------------------------------------------------
CPU_SOURCE = (f"{DOCS}configuring/services/cpu 'vCPU and memory table' and 'Minimum amount of vCPU' (0.08 to 1 in "
              "0.001 steps; above 1 integers; at most 8)")
MIN_CPU = 0.08
CPU_STEP = 0.001
WHOLE_CPUS = (1, 2, 4, 6, 8)  # the docs table; PROTO k8s_min.py:211 lists '1','2','4','8' (6 added later): docs win
MAX_CPU = 8
MIB = 1
GIB = 1024
# per whole-CPU count: (least, most) memory MiB (DOCS configuring/services/cpu table, verified)
MEMORY_BY_CPU = {1: (128, 4 * GIB), 2: (128, 8 * GIB), 4: (2 * GIB, 16 * GIB), 6: (4 * GIB, 24 * GIB),
                 8: (4 * GIB, 32 * GIB)}
MIN_MEMORY_MIB = 128  # DOCS configuring/jobs/cpu table '1 vCPU 128 MiB to 4 GiB' (verified; services page: 'up to')
# below 1 vCPU: > 512 MiB needs >= 0.5 vCPU, > 1 GiB needs >= 1 vCPU (DOCS configuring/services/cpu, verified)
FRACTIONAL_MEMORY = ((512, 0.5), (1024, 1.0))
FRACTIONAL_SOURCE = (f"{DOCS}configuring/services/cpu 'If you use less than 1 vCPU': max concurrency 1, "
                     "request-based billing, first generation execution environment; > 512 MiB needs 0.5 vCPU, "
                     "> 1 GiB needs 1 vCPU")

# ---- per service (values verified where marked) ---------------------------------------------------------------------
RULES = {
    # PROTO revision_template.py:108-112: 'concurrency defaults to 80 when requested CPU >= 1 and 1 when CPU < 1'
    "concurrency_default": (80, f"{PROTO}revision_template.py:108-112"),
    # not re-read in the docs this session: DESIGN.md 'Cloud Run' (researched 2026-11-27) and
    # DOCS configuring/concurrency ('up to 1000'); marked inferred-from-notes
    "concurrency_max": (1000, f"{DOCS}configuring/concurrency (max 1000; from /work/shared/DESIGN.md, not re-read)"),
    "timeout_max_seconds": (3600, f"{DOCS}configuring/request-timeout (max 60 min; from /work/shared/DESIGN.md, "
                                  "not re-read)"),
    "timeout_default_seconds": (300, f"{DOCS}configuring/request-timeout (default 5 min; not re-read)"),
    # PROTO k8s_min.py:340 'Allowed values are "http1" and "h2c"'; :42-47 'Only a single port can be specified'
    "ingress_port_names": (("http1", "h2c"), f"{PROTO}k8s_min.py:340 (ContainerPort.name), :42-47 (one port)"),
    # DOCS configuring/services/environment-variables 'Reserved names' (verified: PORT is injected, do not set it);
    # K_SERVICE/K_REVISION/K_CONFIGURATION are the container runtime contract's other variables (read on the
    # functions' reserved-variables table and a notes page: inferred for services)
    "reserved_env": (("PORT", "K_SERVICE", "K_REVISION", "K_CONFIGURATION"),
                     f"{DOCS}configuring/services/environment-variables 'Reserved names' (container runtime contract)"),
    "max_instances_default": (100, f"{DOCS}configuring/max-instances (default 100; not re-read)"),
}

# ---- probes (PROTO k8s_min.py:726-744, verified) -------------------------------------------------------------------
PROBE_SOURCE = f"{PROTO}k8s_min.py:726-744 (Probe: initialDelaySeconds, timeoutSeconds, periodSeconds, failureThreshold)"
PROBE_LIMITS = {
    # kind: (max periodSeconds, max initialDelaySeconds)
    "startup": (240, 240),
    "liveness": (3600, 3600),
}
PROBE_TIMEOUT_RANGE = (1, 3600)  # and timeoutSeconds <= periodSeconds ('Must be smaller than period_seconds' and
# 'period ... Must be greater or equal than timeout_seconds' — the two comments disagree on equality: <= is checked)
STARTUP_BUDGET_SECONDS = 240  # what topo renders: failureThreshold × periodSeconds covers 240 s of start time
# startup within failureThreshold × periodSeconds <= 600 s: DOCS configuring/jobs/healthchecks 'Probe requirements'
# (verified for jobs; the services page was read only in part: assumed the same)
STARTUP_MAX_TOTAL_SECONDS = 600

# ---- where stateful services go (Cloud Run runs stateless HTTP/gRPC containers) ------------------------------------
STATELESS_SOURCE = (f"{DOCS}configuring/services/cpu, /work/shared/DESIGN.md 'Cloud Run': HTTP/gRPC ingress only, no "
                    "persistent disks (the in-memory filesystem counts against memory)")
HOSTS = {
    "cloud-sql": "Cloud SQL (managed Postgres/MySQL), reached at its private IP over Direct VPC egress",
    "compute-engine": "a Compute Engine VM with a persistent disk, reached over Direct VPC egress",
    "memorystore": "Memorystore (managed Redis-compatible cache), reached over Direct VPC egress",
    "firebase": "Google's Firebase/Firestore itself (the emulator is the local stand-in)",
}
SECRETS_SOURCE = f"{PROTO}k8s_min.py:311-320 (SecretKeySelector: secret name, version 'latest')"
BILLING_SOURCE = (f"{DOCS}configuring/billing-settings: request-based (default; CPU only during requests, startup, "
                  "shutdown) or instance-based (CPU for the whole instance lifecycle; for background work)")
WORKER_POOLS_SOURCE = (f"{DOCS}deploy-worker-pools: 'continuous background work', no endpoint/URL, no autoscaling")
DEPENDENCIES_SOURCE = f"{PROTO}k8s_min.py:111 (Container.depends_on); {ANNOTATIONS_SOURCE}"


def _ceil_step(x: float) -> float:
    return math.ceil(round(x / CPU_STEP, 6)) * CPU_STEP


def snap_cpu(cpu: float) -> float:
    """The smallest CPU Cloud Run accepts that is >= cpu (0.08..1 in 0.001 steps, then 2, 4, 6, 8)."""
    if cpu <= 1:
        return round(max(MIN_CPU, _ceil_step(cpu)), 3)
    return float(next((c for c in WHOLE_CPUS if c >= cpu - 1e-9), MAX_CPU))


def instance_size(cpus: list[float], mems: list[int], needs_whole_cpu: bool) -> tuple[list[float], list[int], list[str]]:
    """Snap the containers of one instance (the first is the ingress container, which absorbs any increase) to
    Cloud Run's table; returns (cpus, MiB, reasons). `needs_whole_cpu`: concurrency > 1 or instance-based billing,
    which a fractional CPU does not allow (FRACTIONAL_SOURCE)."""
    cpus = [snap_cpu(c) for c in cpus]
    mems = [max(MIN_MEMORY_MIB, m) for m in mems]
    why: list[str] = []
    for _ in range(8):
        total, mem = round(sum(cpus), 3), sum(mems)
        want = total
        if total < 1:
            if needs_whole_cpu:
                want, reason = 1.0, "a CPU below 1 needs concurrency 1 and request-based billing"
            else:
                reason = ""
                for limit_mib, least in FRACTIONAL_MEMORY:
                    if mem > limit_mib and total < least:
                        want, reason = least, f"{mem} MiB needs at least {least:g} vCPU"
            if want == total:
                break
        elif total > 1 and total not in WHOLE_CPUS:
            want, reason = float(snap_cpu(total)), "above 1 vCPU Cloud Run takes 2, 4, 6 or 8"
        else:
            least, most = MEMORY_BY_CPU[int(total)]
            if mem > most:
                want = float(next((c for c in WHOLE_CPUS if MEMORY_BY_CPU[c][1] >= mem), MAX_CPU))
                reason = f"{mem} MiB needs {want:g} vCPU"
                if want == total:
                    break
            elif mem < least:
                mems[0] += least - mem
                why.append(f"{total:g} vCPU needs at least {least} MiB")
                continue
            else:
                break
        cpus[0] = round(cpus[0] + want - total, 3)
        why.append(reason)
    return cpus, mems, why


def fits(cpu: float, mem: int) -> bool:
    """Whether an instance total is in Cloud Run's table (what instance_size cannot reach is refused)."""
    return cpu <= MAX_CPU and mem <= MEMORY_BY_CPU[MAX_CPU][1]
