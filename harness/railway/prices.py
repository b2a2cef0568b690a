"""A dated price table for Railway (USD). Each row names its source.

Railway bills usage: CPU and RAM by the minute as used (not as reserved), volumes by used space, egress by the GB,
plus a plan's base fee that includes the same amount of usage. The facts are those of
docs/research/railway-facts.md sections 6-8, read from the `railwayapp/docs` snapshot at commit
c2a634f1b3891ac2947c2e875006d986748860a5 (2026-08-21), paths under content/docs/. `topo cost --compare` prints
the date and sources so a reader can check them. Update them together.
"""
from __future__ import annotations

PRICES_DATE = "2026-08-21"  # commit date of the docs snapshot read
DOCS = "railwayapp/docs@c2a634f1b389 content/docs/"
FACTS = "docs/research/railway-facts.md"

PRICES = {
    # Usage rates. The per-month figures are Railway's own; the per-minute ones are printed beside them there.
    "ram.gb_month": (10.0, f"{DOCS}pricing/plans.md:58 — RAM $10/GB/month ($0.000231/GB/minute) ({FACTS} §8)"),
    "cpu.vcpu_month": (20.0, f"{DOCS}pricing/plans.md:59 — CPU $20/vCPU/month ($0.000463/vCPU/minute) ({FACTS} §8)"),
    "egress.gb": (0.05, f"{DOCS}pricing/plans.md:60 — network egress $0.05/GB ({FACTS} §8)"),
    "volume.gb_month": (0.15, f"{DOCS}pricing/plans.md:61, volumes/reference.md 'Pricing' — volume storage "
                              f"$0.15/GB/month, billed on used space ({FACTS} §8)"),
    # Plan base fee per month; the fee includes the same amount of usage (Free: no fee, no included usage here).
    "plan.base_month": ({"hobby": 5.0, "pro": 20.0},
                        f"{DOCS}pricing/plans.md:24-27, 'Included usage' — Hobby $5/month incl. $5 usage, "
                        f"Pro $20/month incl. $20 usage ({FACTS} §8)"),
    "plan.included_usage": ({"hobby": 5.0, "pro": 20.0},
                            f"{DOCS}pricing/plans.md 'Included usage' — the base fee counts toward usage ({FACTS} §8)"),
    # Volume size a service gets when nothing is declared (the per-plan maximums are in harness/railway/limits.py).
    "volume.default_gb": ({"hobby": 5.0, "pro": 50.0},
                          f"{DOCS}volumes/reference.md:16ff — default size Hobby 5 GB, Pro 50 GB ({FACTS} §6)"),
}

PLANS = ("hobby", "pro")  # cheapest first; Free/Trial are not priced (0.5 GB volumes, 0.5-1 GB RAM per service)


def price(name: str):
    return PRICES[name][0]


def source(name: str) -> str:
    return PRICES[name][1]
