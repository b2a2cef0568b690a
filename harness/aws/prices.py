"""A dated price table (USD, us-east-1, on-demand unless noted). Each row names its source.

Prices change: `topo cost` prints the date and sources so a reader can check them. Update them together.
"""
from __future__ import annotations

PRICES_DATE = "2026-11-01"
HOURS_PER_MONTH = 730

PRICES = {
    # Lightsail container service: price per node per month by power.
    "lightsail.power": ({"nano": 7.0, "micro": 10.0, "small": 15.0, "medium": 40.0, "large": 80.0, "xlarge": 160.0},
                        "aws.amazon.com/lightsail/pricing — Container services"),
    # Fargate Linux/x86, per hour.
    "fargate.vcpu_hour": (0.04048, "aws.amazon.com/fargate/pricing — Linux/x86 per vCPU-hour"),
    "fargate.gb_hour": (0.004445, "aws.amazon.com/fargate/pricing — Linux/x86 per GB-hour"),
    "fargate.spot_discount": (0.70, "aws.amazon.com/fargate/pricing — Fargate Spot 'up to 70% discount' (typical)"),
    # EBS gp3 storage per GB-month.
    "ebs.gp3_gb_month": (0.08, "aws.amazon.com/ebs/pricing — gp3 storage"),
    # RDS for PostgreSQL, single-AZ, per hour, and gp3 storage per GB-month.
    "rds.instance_hour": ({"db.t4g.micro": 0.016, "db.t4g.small": 0.032, "db.t4g.medium": 0.065},
                          "aws.amazon.com/rds/postgresql/pricing — Single-AZ on-demand"),
    "rds.storage_gb_month": (0.115, "aws.amazon.com/rds/postgresql/pricing — gp2/gp3 storage, Single-AZ"),
    # ECR private storage per GB-month, and an assumed stored size for our images.
    "ecr.gb_month": (0.10, "aws.amazon.com/ecr/pricing — private repository storage"),
    "ecr.assumed_gb": (2.0, "assumption: app + firebase images, a few versions kept"),
    # Data transfer out to the internet per GB beyond Lightsail's allowance, and an assumed monthly volume.
    "transfer.gb_out": (0.09, "aws.amazon.com/ec2/pricing/on-demand — data transfer out, first 10 TB"),
    "transfer.assumed_gb_out": (20.0, "assumption: low-to-moderate traffic beyond the Lightsail allowance"),
    "route53.zone_month": (0.50, "aws.amazon.com/route53/pricing — hosted zone"),
}


def price(name: str):
    return PRICES[name][0]


def source(name: str) -> str:
    return PRICES[name][1]
