"""Monthly cost, line by line: the AWS placement from the dated price table in harness/aws/prices.py, and Railway
from a measured usage file (harness/runtime/usage.py) and harness/railway/prices.py; `compare()` puts them side by
side with the platform chapter's own figures.

Railway bills what services use (vCPU-minutes, GB-minutes of RAM), so its estimate needs a measurement: without one
there is no Railway number, only a message saying how to measure. The measured averages are assumed to hold all month.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from harness.aws.prices import HOURS_PER_MONTH, PRICES_DATE, price, source
from harness.errors import TopoError
from harness.model import Topology
from harness.targets.aws import fargate_size

SEED_RANGE = (35.0, 55.0)  # the platform chapter's own estimate, USD per month
# The platform chapter's figure for what the platform cost on Railway, USD per month, and where it says so.
CHAPTER_RAILWAY_USD = 50.0
CHAPTER_RAILWAY_SOURCE = ("platform chapter (seed deml-aws-deployment-chapter.txt:3): \"operating the platform on "
                          "Railway ... at approximately fifty dollars per month\"")
CHAPTER_AWS_SOURCE = "platform chapter (seed deml-aws-deployment-chapter.txt:24): \"Projected total baseline: $35–55\""
HOSTS = ("aws", "railway", "cloudrun")
CHAPTER_CLOUDRUN_SOURCE = ("platform chapter (seed deml-aws-deployment-chapter.txt:16) gives no Cloud Run figure, only "
                           "\"dramatically smaller than the theoretical Cloud Run maximum\"")


@dataclass(frozen=True)
class CostLine:
    item: str
    service: str
    quantity: str
    monthly_usd: float
    how: str
    source: str


def estimate(t: Topology) -> list[CostLine]:
    lines: list[CostLine] = []
    ls = t.aws.lightsail
    if ls and t.group("lightsail"):
        node = price("lightsail.power").get(ls.power, 0.0)
        names = ", ".join(s.name for s in t.group("lightsail"))
        lines.append(CostLine("Lightsail container service", ls.service, f"{ls.scale} × {ls.power}", node * ls.scale,
                              f"{ls.scale} node(s) × ${node:g}/month; hosts {names}", source("lightsail.power")))
    for s in t.group("fargate"):
        p = s.placement["aws"]
        cpu, mem, _ = fargate_size(s)
        vcpu, gb = cpu / 1024, mem / 1024
        full = (vcpu * price("fargate.vcpu_hour") + gb * price("fargate.gb_hour")) * HOURS_PER_MONTH
        spot = p.capacity == "spot"
        factor = 1 - price("fargate.spot_discount") if spot else 1.0
        how = (f"({vcpu:g} vCPU × ${price('fargate.vcpu_hour')}/h + {gb:g} GB × ${price('fargate.gb_hour')}/h) × "
               f"{HOURS_PER_MONTH} h" + (f" × {factor:.2f} (Spot)" if spot else ""))
        lines.append(CostLine("Fargate task" + (" (Spot)" if spot else ""), s.name, f"{vcpu:g} vCPU / {gb:g} GB",
                              full * factor, how, source("fargate.vcpu_hour") + (f"; {source('fargate.spot_discount')}" if spot else "")))
        for v in s.volumes:
            size = (v.size_bytes or 20 << 30) / (1 << 30)
            lines.append(CostLine("EBS gp3 volume", s.name, f"{size:g} GB", size * price("ebs.gp3_gb_month"),
                                  f"{size:g} GB × ${price('ebs.gp3_gb_month')}/GB-month", source("ebs.gp3_gb_month")))
    for s in t.group("rds"):
        p = s.placement["aws"]
        hourly = price("rds.instance_hour").get(p.instance_class)
        if hourly is None:
            lines.append(CostLine("RDS instance", s.name, p.instance_class, 0.0,
                                  f"no price for {p.instance_class} in the table: add it", source("rds.instance_hour")))
        else:
            lines.append(CostLine("RDS instance", s.name, p.instance_class, hourly * HOURS_PER_MONTH,
                                  f"${hourly}/h × {HOURS_PER_MONTH} h", source("rds.instance_hour")))
        lines.append(CostLine("RDS storage", s.name, f"{p.storage_gb} GB", p.storage_gb * price("rds.storage_gb_month"),
                              f"{p.storage_gb} GB × ${price('rds.storage_gb_month')}/GB-month", source("rds.storage_gb_month")))
    ecr_gb = price("ecr.assumed_gb")
    lines.append(CostLine("ECR storage", "images", f"{ecr_gb:g} GB", ecr_gb * price("ecr.gb_month"),
                          f"{ecr_gb:g} GB × ${price('ecr.gb_month')}/GB-month", f"{source('ecr.gb_month')}; {source('ecr.assumed_gb')}"))
    out_gb = price("transfer.assumed_gb_out")
    lines.append(CostLine("Data transfer out", "egress", f"{out_gb:g} GB", out_gb * price("transfer.gb_out"),
                          f"{out_gb:g} GB × ${price('transfer.gb_out')}/GB", f"{source('transfer.gb_out')}; {source('transfer.assumed_gb_out')}"))
    lines.append(CostLine("Route 53 hosted zone", "dns", "1 zone", price("route53.zone_month"),
                          f"1 × ${price('route53.zone_month')}/month", source("route53.zone_month")))
    for s in t.group("external"):
        lines.append(CostLine("Outside AWS", s.name, "-", 0.0, f"{s.placement['aws'].note or 'external'}; not priced here", "-"))
    return lines


def summary(t: Topology) -> dict:
    lines = estimate(t)
    total = round(sum(line.monthly_usd for line in lines), 2)
    return {
        "prices_date": PRICES_DATE,
        "region": t.aws.region,
        "lines": [asdict(line) | {"monthly_usd": round(line.monthly_usd, 2)} for line in lines],
        "total_usd": total,
        "seed_range_usd": list(SEED_RANGE),
        "within_seed_range": SEED_RANGE[0] <= total <= SEED_RANGE[1],
        "budget_usd": t.budget_monthly_usd,
        "over_budget": t.budget_monthly_usd is not None and total > t.budget_monthly_usd,
    }


# ---- Railway, from a measurement ------------------------------------------------------------------------------

MEASURE_HINT = ("measure it: `topo gate` writes reports/usage.json next to contracts.json (the contract suite's load), "
                "or `.venv/bin/python bench/usage.py` (an ephemeral stack, idle then 1,000 events; writes "
                "reports/usage.json)")


class NeedsMeasurement(TopoError):
    """Railway's cost cannot be estimated: no usable usage file. The message says why and how to get one."""


def _railway_services(t: Topology) -> tuple[list, list]:
    """(services priced, services left out). Left out: those placed outside AWS (Firebase is Google's), so both
    sides price the same services; the Railway rendering runs the Firebase emulator as a service, and its measured
    cost is shown beside the total, not in it."""
    run, out = [], []
    for s in t.services:
        p = s.placement.get("aws")
        (out if p is not None and getattr(p, "kind", "") == "external" else run).append(s)
    return run, out


def _railway_plan(t: Topology) -> tuple[str, str]:
    """The plan priced: `railway.plan` when the topology declares one, else the cheapest priced plan whose
    per-service volume maximum (harness/railway/limits.py) holds every declared volume."""
    from harness.railway import limits
    from harness.railway.prices import PLANS
    from harness.railway.prices import price as rprice

    if t.railway.declared and t.railway.plan in PLANS:
        return t.railway.plan, "declared in topology.yaml (railway.plan)"
    sizes = [(v.size_bytes or 0, f"{s.name}.{v.name}") for s in _railway_services(t)[0] for v in s.volumes]
    biggest = max(sizes) if sizes else (0, "")
    why = f"railway.plan {t.railway.plan!r} has no price here; " if t.railway.declared else ""
    for plan in PLANS:
        vmax = limits.PLANS[plan].volume_bytes
        if biggest[0] <= vmax:
            return plan, why + (f"the cheapest plan whose per-service volume maximum ({vmax / (1 << 30):g} GB) holds "
                                f"the largest declared volume ({biggest[1]}, {biggest[0] / (1 << 30):g} GB)"
                                if biggest[1] else "the cheapest plan with a base fee")
    return PLANS[-1], why + f"no priced plan holds {biggest[1]}: priced as {PLANS[-1]}"


def _compute_lines(t: Topology, services: list, measured: dict, label: str) -> tuple[list[CostLine], list[str]]:
    from harness.railway.checks import placement
    from harness.railway.prices import price as rprice
    from harness.railway.prices import source as rsource

    cpu, ram = rprice("cpu.vcpu_month"), rprice("ram.gb_month")
    lines, missing = [], []
    for s in services:
        m = measured.get(s.name)
        if not m or m.get("avg_mem_mib") is None:
            missing.append(s.name)
            continue
        replicas = placement(s).replicas
        vcpu, gb = float(m["avg_vcpu"]), float(m["avg_mem_mib"]) / 1024 * replicas
        lines.append(CostLine(f"CPU + RAM ({label})", s.name, f"{vcpu:.3f} vCPU / {m['avg_mem_mib']:.0f} MiB",
                              vcpu * cpu + gb * ram,
                              f"{vcpu:.3f} vCPU × ${cpu:g}/vCPU-month + {gb:.3f} GB"
                              + (f" ({replicas} replicas, each with the measured memory)" if replicas > 1 else "")
                              + f" × ${ram:g}/GB-month (measured average held all month; peak {m.get('peak_mem_mib')} MiB)",
                              f"{rsource('cpu.vcpu_month')}; {rsource('ram.gb_month')}"))
    return lines, missing


def _bill(lines: list[CostLine], plan: str) -> tuple[float, float, float, float]:
    """(usage, base fee, included usage applied, total): the base fee includes the same amount of usage."""
    from harness.railway.prices import price as rprice

    usage = sum(line.monthly_usd for line in lines)
    base, included = rprice("plan.base_month")[plan], rprice("plan.included_usage")[plan]
    applied = min(usage, included)
    return usage, base, applied, base + usage - applied


def railway_estimate(t: Topology, usage: dict | None, usage_path: str = "reports/usage.json") -> dict:
    """Railway's monthly cost from a usage document (harness/runtime/usage.py). Raises NeedsMeasurement without a
    usable one: Railway bills what is used, and this estimate never invents usage."""
    from harness.railway.prices import PRICES_DATE as RAILWAY_PRICES_DATE
    from harness.railway.prices import price as rprice
    from harness.railway.prices import source as rsource

    if usage is None:
        raise NeedsMeasurement(f"Railway bills the CPU and memory services actually use, so its cost needs a "
                               f"measurement, and there is no usage file at {usage_path}: {MEASURE_HINT}.")
    if usage.get("unavailable") or not usage.get("services"):
        raise NeedsMeasurement(f"the usage file {usage_path} holds no measurement "
                               f"({usage.get('unavailable') or 'no services measured'}): {MEASURE_HINT}.")
    services, left_out = _railway_services(t)
    plan, plan_why = _railway_plan(t)
    measured = usage["services"]
    compute, missing = _compute_lines(t, services, measured, "measured under load")
    other: list[CostLine] = []
    for s in services:
        for v in s.volumes:
            declared = v.size_bytes is not None
            gb = v.size_bytes / (1 << 30) if declared else rprice("volume.default_gb")[plan]
            other.append(CostLine("Volume", s.name, f"{gb:g} GB", gb * rprice("volume.gb_month"),
                                  f"{gb:g} GB ({'declared' if declared else f'{plan} default'}) × "
                                  f"${rprice('volume.gb_month')}/GB-month (billed on used space: an upper bound)",
                                  rsource("volume.gb_month") if declared else
                                  f"{rsource('volume.gb_month')}; {rsource('volume.default_gb')}"))
    out_gb = price("transfer.assumed_gb_out")
    other.append(CostLine("Egress", "egress", f"{out_gb:g} GB", out_gb * rprice("egress.gb"),
                          f"{out_gb:g} GB × ${rprice('egress.gb')}/GB (the AWS side's assumed volume)",
                          f"{rsource('egress.gb')}; {source('transfer.assumed_gb_out')}"))
    use, base, applied, total = _bill(compute + other, plan)
    fee = [CostLine("Plan base fee", plan, "1 month", base, f"{plan.title()} plan ${base:g}/month", rsource("plan.base_month")),
           CostLine("Included usage", plan, f"${rprice('plan.included_usage')[plan]:g}", -applied,
                    f"the base fee includes ${rprice('plan.included_usage')[plan]:g} of usage; usage is ${use:.2f}",
                    rsource("plan.included_usage"))]
    idle_total = None
    idle = (usage.get("idle") or {}).get("services")
    if idle:
        idle_compute, _ = _compute_lines(t, services, idle, "measured idle")
        idle_total = round(_bill(idle_compute + other, plan)[3], 2)
    names = {s.name for s in t.services}
    m = usage.get("measured") or {}
    lines = compute + other + fee
    return {
        "title": "Railway", "prices_date": RAILWAY_PRICES_DATE,
        "plan": plan, "plan_why": plan_why,
        "lines": [asdict(line) | {"monthly_usd": round(line.monthly_usd, 2)} for line in lines],
        "usage_usd": round(use, 2), "total_usd": round(total, 2), "idle_total_usd": idle_total,
        "idle_window_s": (usage.get("idle") or {}).get("window_s") if idle else None,
        "assumption": (f"CPU and RAM are the averages measured over {usage.get('window_s')} s "
                       + (f"while {usage['events_pushed']:,} events were pushed" if usage.get("events_pushed") else
                          f"under {usage.get('load') or 'load'}")
                       + f", assumed to hold all month (Railway bills by the minute what is used); measured {m.get('at')} on "
                         f"{m.get('host')} ({m.get('cpus')} CPUs)"
                       + (f" by `{usage['command']}`" if usage.get("command") else "")
                       + "; volumes at their declared size (Railway bills used space: an upper bound), egress as "
                         "assumed on the AWS side"
                       + (f"; images measured: {usage['images']}" if usage.get("images") else "")),
        "measured": m | {"window_s": usage.get("window_s"), "events_pushed": usage.get("events_pushed"),
                         "command": usage.get("command"), "file": usage_path},
        "not_measured": missing,
        "left_out": [f"{s.name} (placed outside AWS: {s.placement['aws'].note or 'external'}"
                     + (f"; as a Railway service it would add ${lo.monthly_usd:.2f}/month at its measured usage)"
                        if (lo := next(iter(_compute_lines(t, [s], measured, "")[0]), None)) else ")")
                     for s in left_out],
        "measured_not_in_topology": sorted(set(measured) - names),
        "chapter_usd": CHAPTER_RAILWAY_USD, "chapter_source": CHAPTER_RAILWAY_SOURCE,
    }


_CATEGORY = {"Lightsail container service": "compute", "Fargate task": "compute", "Fargate task (Spot)": "compute",
             "RDS instance": "compute", "EBS gp3 volume": "storage", "RDS storage": "storage",
             "ECR storage": "storage", "Volume": "storage", "Data transfer out": "egress", "Egress": "egress",
             "Route 53 hosted zone": "other", "Outside AWS": "other", "Plan base fee": "plan base fee",
             "Included usage": "included usage", "Cloud Run requests": "requests",
             "Free tier (request-based)": "free tier", "Free tier (instance-based)": "free tier",
             "Off Cloud Run (not priced)": "other"}
CATEGORIES = ("compute", "requests", "storage", "egress", "other", "plan base fee", "included usage", "free tier")


def _category(item: str) -> str:
    return "compute" if item.startswith(("CPU + RAM", "Cloud Run CPU")) else _CATEGORY.get(item, "other")


def compare(t: Topology, hosts: tuple[str, ...], usage: dict | None, usage_path: str = "reports/usage.json") -> dict:
    """Hosts side by side per month, by category, with the chapter's figures. Raises NeedsMeasurement when Railway
    or Cloud Run is one of them and there is no measurement."""
    bad = [h for h in hosts if h not in HOSTS]
    if bad:
        raise TopoError(f"unknown host {bad[0]!r} for --compare; use two of: {', '.join(HOSTS)}")
    per = {}
    if "aws" in hosts:
        aws = summary(t)
        per["aws"] = {"total_usd": aws["total_usd"], "lines": aws["lines"], "prices_date": aws["prices_date"],
                      "chapter": f"${SEED_RANGE[0]:g}–{SEED_RANGE[1]:g}", "chapter_source": CHAPTER_AWS_SOURCE,
                      "detail": aws}
    if "railway" in hosts:
        rw = railway_estimate(t, usage, usage_path)
        per["railway"] = {"total_usd": rw["total_usd"], "lines": rw["lines"], "prices_date": rw["prices_date"],
                          "chapter": f"~${CHAPTER_RAILWAY_USD:g}", "chapter_source": CHAPTER_RAILWAY_SOURCE,
                          "detail": rw}
    if "cloudrun" in hosts:
        from harness.cloudrun.cost import estimate as cloudrun_estimate

        if usage is None or usage.get("unavailable") or not usage.get("services"):
            raise NeedsMeasurement(f"Cloud Run bills allocated CPU and memory for as long as instances are billable, "
                                   f"and how many instances and how long come from a measurement: no usable usage "
                                   f"file at {usage_path}: {MEASURE_HINT}.")
        cr = cloudrun_estimate(t, usage, usage_path)
        per["cloudrun"] = {"total_usd": cr["total_usd"], "lines": cr["lines"], "prices_date": cr["prices_date"],
                           "chapter": "-", "chapter_source": CHAPTER_CLOUDRUN_SOURCE, "detail": cr}
    rows = []
    for cat in CATEGORIES:
        cells = {h: [line["monthly_usd"] for line in per[h]["lines"] if _category(line["item"]) == cat] for h in hosts}
        if any(cells.values()):  # None: the host has no such line (AWS has no plan fee)
            rows.append({"category": cat} | {h: round(sum(v), 2) if v else None for h, v in cells.items()})
    return {"hosts": list(hosts), "rows": rows, "totals": {h: per[h]["total_usd"] for h in hosts},
            "chapter": {h: per[h]["chapter"] for h in hosts}, "chapter_sources": {h: per[h]["chapter_source"] for h in hosts},
            "per_host": {h: per[h]["detail"] for h in hosts}}


def load_usage(path: Path) -> dict | None:
    """The usage document at `path` or None when absent; a file that is not one raises NeedsMeasurement."""
    from harness.runtime import usage

    try:
        return usage.load(path)
    except ValueError as exc:
        raise NeedsMeasurement(f"{exc}: {MEASURE_HINT}.") from None
