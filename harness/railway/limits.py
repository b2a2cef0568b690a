"""Railway's limits the Railway target enforces — data, each row with its source.

Sources are stored snapshots, listed with what each says in docs/research/railway-facts.md:
- DOCS: railwayapp/docs at commit c2a634f1b3891ac2947c2e875006d986748860a5 (2026-08-21), paths under content/docs/,
  `:N` a line in that file at that commit.
- CLI: railwayapp/cli at commit df3838bf117cfa332d0ea28e9d26405639a98b2b (2026-08-21, version 5.43.1).
- SDK: the npm package `railway` 3.11.0 (railwayapp/railway-ts-sdk), dist/iac/index.js and dist/index-*.d.ts,
  the version tests/railway-iac/package-lock.json pins.
"verified" below = the source text was read; "inferred" = worked out from what was read (said where it applies).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

DOCS = "railwayapp/docs@c2a634f1b389 content/docs/"
CLI = "railwayapp/cli@df3838bf117c "
SDK = "npm railway@3.11.0 "

GIB = 1 << 30
MIB = 1 << 20


@dataclass(frozen=True)
class Plan:
    """Per-service maximums, "including replica multiplication" (DOCS pricing/plans.md:38-48, verified)."""
    name: str
    replicas: int
    memory_bytes: int
    vcpu: float
    volume_bytes: int
    restart_always: bool  # may a service restart ALWAYS?
    restart_max_retries: int | None  # cap of ON_FAILURE retries; None = any number


PLANS_SOURCE = f"{DOCS}pricing/plans.md:38-48 'Default plan resources' (per service, including replicas)"
RESTART_SOURCE = f"{DOCS}deployments/restart-policy.md:24-30 (Free/Trial: no Always, On Failure at most 10)"
PLANS: dict[str, Plan] = {
    p.name: p
    for p in (
        Plan("trial", 2, 1 * GIB, 2, GIB // 2, False, 10),
        Plan("free", 1, GIB // 2, 1, GIB // 2, False, 10),
        Plan("hobby", 6, 48 * GIB, 48, 5 * GIB, True, None),
        Plan("pro", 42, 1024 * GIB, 1000, 1024 * GIB, True, None),
        Plan("enterprise", 50, 2458 * GIB, 2400, 5 * 1024 * GIB, True, None),  # 2.4 TB RAM, 5 TB volume
    )
}

# Per-REPLICA caps. Only Pro has a figure, on a page that disagrees with the plans table above (which gives
# 1,000 vCPU / 1 TB per service, replicas included): DOCS deployments/scaling.md:18 says each Pro replica can use
# up to 24 vCPU and 24 GB. Both are checked; the stricter one wins. No per-replica figure exists for the others.
PER_REPLICA: dict[str, tuple[float, int]] = {"pro": (24, 24 * GIB)}
PER_REPLICA_SOURCE = f"{DOCS}deployments/scaling.md:18 (Pro: 24 vCPU / 24 GB per replica; conflicts with plans.md)"

# (value, source) for the rules that hold on every plan.
RULES = {
    "volumes_per_service": (1, f"{DOCS}volumes/reference.md:71 'Each service can only have a single volume'"),
    "replicas_with_volume": (1, f"{DOCS}volumes/reference.md:72 'Replicas cannot be used with volumes'"),
    "tcp_proxies_per_service": (1, f"{DOCS}cli/tcp-proxy.md:9 'Only one TCP proxy is allowed per service'"),
    "generated_domains_per_service": (1, f"{DOCS}cli/domain.md:154 'One Railway-provided domain per service'"),
    # Public ingress is HTTP/1.1 and HTTP/2 over TLS; anything else goes through the TCP proxy. Public UDP: not found.
    "public_http_only": ({"http", "https"}, f"{DOCS}networking/public-networking/specs-and-limits.md:33-40; "
                                           f"{DOCS}networking/tcp-proxy.md:6"),
    "cron_min_interval_minutes": (5, f"{DOCS}cron-jobs.md:72 (shortest interval 5 minutes), :68 (UTC), "
                                     ":42 (five fields), :54 (*, lists, ranges, steps)"),
    "healthcheck_default_timeout": (300, f"{DOCS}deployments/healthchecks.md:40 (default 300 s)"),
    "restart_default": (("on-failure", 10), f"{DOCS}deployments/restart-policy.md:10 (On Failure, max 10 restarts)"),
}

# What a Railway service has no field for, so the rendering cannot carry it (notes, severity warning/notice).
# Sources: the DeployConfig/ServiceConfig types of the SDK (SDK dist/index-*.d.ts) and of the CLI
# (CLI src/controllers/config/environment.rs:190 struct DeployConfig): neither has a user, read-only root
# filesystem, capabilities, tmpfs, resource reservation or container healthcheck command.
UNREPRESENTABLE_SOURCE = f"{SDK}dist/index-*.d.ts type DeployConfig; {CLI}src/controllers/config/environment.rs:190"

# Railway's restart policy names (CLI src/controllers/config/environment.rs:199, SDK type DeployConfig).
RESTART_POLICY = {"on-failure": "ON_FAILURE", "always": "ALWAYS", "never": "NEVER"}

PRIVATE_DOMAIN = "{service}.railway.internal"
PRIVATE_DOMAIN_SOURCE = f"{DOCS}networking/private-networking.md:27,32 (SERVICE_NAME.railway.internal)"
IPV6_ONLY_SOURCE = (f"{DOCS}networking/private-networking/how-it-works.md:35-36 (environments created before "
                    "2025-10-16 resolve private names to IPv6 only; bind ::)")
START_COMMAND_SOURCE = (f"{DOCS}deployments/start-command.md:17-25 (for an image, the start command overrides "
                        "its ENTRYPOINT, in exec form, without variable expansion)")
GENERATED_DOMAIN_SOURCE = (f"{DOCS}infrastructure-as-code/reference.md 'Custom domains' (\"Generated Railway "
                           "service domains are not included in .railway/railway.ts\")")
HEALTHCHECK_SOURCE = (f"{DOCS}deployments/healthchecks.md:10,24-40 (an HTTP path answered 200 on $PORT, at deploy "
                      "time only)")
SEALED_SOURCE = (f"{DOCS}variables.md 'Sealed variables'; {DOCS}infrastructure-as-code/reference.md "
                 "('ctx.shared.NAME compiles to ${{shared.NAME}} ... it does not define or manage the shared "
                 f"variable itself'); {CLI}src/iac/compiler.rs:496")
# The IaC compiler copies a service's raw `deploy:` block into the environment config unchanged
# (CLI src/iac/compiler.rs:415; the SDK spreads `config.deploy` first, dist/iac/index.js normalizeDeploy): that is
# how restart policy, cron and draining reach Railway. Verified in both sources; no doc example shows it.
DEPLOY_PASSTHROUGH_SOURCE = f"{CLI}src/iac/compiler.rs:415; {SDK}dist/iac/index.js normalizeDeploy"

# Crontab: 5 fields (minute hour day-of-month month day-of-week).
CRON_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7))
CRON_ITEM = re.compile(r"^(?:\*|(?P<a>[0-9]+)(?:-(?P<b>[0-9]+))?)(?:/(?P<step>[0-9]+))?$")


def cron_field(text: str, lo: int, hi: int) -> set[int] | None:
    """The values a crontab field matches; None if it is not one (names like MON are not accepted here)."""
    out: set[int] = set()
    for item in text.split(","):
        m = CRON_ITEM.match(item)
        if not m:
            return None
        a = int(m["a"]) if m["a"] is not None else lo
        b = int(m["b"]) if m["b"] is not None else (hi if m["a"] is None or m["step"] else a)
        step = int(m["step"]) if m["step"] else 1
        if not (lo <= a <= hi and lo <= b <= hi) or a > b or step < 1:
            return None
        out.update(range(a, b + 1, step))
    return out


def cron_min_interval(expr: str) -> int | None:
    """Shortest gap in minutes between two runs of a 5-field crontab; None if it is not one.

    Worst case over days: the minute/hour grid of one day repeated (the day fields only remove days), so a job at
    23:58 and 00:01 counts as 3 minutes apart."""
    parts = expr.split()
    if len(parts) != 5:
        return None
    sets = [cron_field(p, lo, hi) for p, (_, lo, hi) in zip(parts, CRON_FIELDS)]
    if any(s is None or not s for s in sets):
        return None
    minutes = sorted(h * 60 + m for h in sets[1] for m in sets[0])
    gaps = [b - a for a, b in zip(minutes, minutes[1:])] + [minutes[0] + 1440 - minutes[-1]]
    return min(gaps)
