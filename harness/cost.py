"""Monthly cost of the AWS placement, line by line, from the dated price table in harness/aws/prices.py."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from harness.aws.prices import HOURS_PER_MONTH, PRICES_DATE, price, source
from harness.model import Topology
from harness.targets.aws import fargate_size

SEED_RANGE = (35.0, 55.0)  # the platform chapter's own estimate, USD per month


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
