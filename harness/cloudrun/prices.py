"""A dated price table for Cloud Run (USD, tier 1 regions such as us-central1). Each row names its source.

Cloud Run bills the CPU and memory ALLOCATED to an instance (not what it uses) for the time it is billable, by the
100 ms: request-based billing while an instance starts, serves at least one request or shuts down, plus a fee per
request; instance-based billing for the instance's whole life, no request fee. A monthly free tier per billing
account comes off first ("applied as a spending based discount using Tier 1 pricing").

Read 2026-11-28 from cloud.google.com/run/pricing (stored pages; the tier 1 table and the free tier) and
cloud.google.com/run/docs/configuring/billing-settings. "verified" = the figure was read there; "not verified" = the
stored excerpt was cut before it, and the figure is the one Google has published for that cell (check the page).
Stateful services are off Cloud Run (Cloud SQL, Compute Engine, Memorystore): their prices are NOT in this table,
and `topo cost` says so instead of guessing.
"""
from __future__ import annotations

PRICES_DATE = "2026-11-28"  # the day the stored pricing page was read
PAGE = "cloud.google.com/run/pricing"

PRICES = {
    # request-based billing ("CPU only allocated during request processing"), tier 1
    "request.vcpu_second": (0.000024, f"{PAGE} tier 1, request-based: $0.00002400/vCPU-second beyond free tier "
                                      "(verified)"),
    "request.gib_second": (0.0000025, f"{PAGE} tier 1, request-based: $0.00000250/GiB-second (verified: "
                                      "/work/shared/DESIGN.md and two stored copies of the page)"),
    "request.per_million": (0.40, f"{PAGE} tier 1, request-based: $0.40 per million requests (verified)"),
    "request.free_vcpu_seconds": (180_000, f"{PAGE} free tier, request-based: first 180,000 vCPU-seconds/month "
                                           "(verified)"),
    "request.free_gib_seconds": (360_000, f"{PAGE} free tier, request-based: first 360,000 GiB-seconds/month "
                                          "(verified)"),
    "request.free_requests": (2_000_000, f"{PAGE} free tier: 2 million requests/month (verified)"),
    # instance-based billing ("CPU always allocated"), tier 1
    "instance.vcpu_second": (0.000018, f"{PAGE} tier 1, instance-based ('Services with CPU always allocated, Jobs'): "
                                       "$0.00001800/vCPU-second beyond free tier (verified)"),
    "instance.gib_second": (0.000002, f"{PAGE} tier 1, instance-based: $0.00000200/GiB-second (NOT verified: the "
                                      "stored excerpt ends before this cell)"),
    "instance.free_vcpu_seconds": (240_000, f"{PAGE} free tier, instance-based: first 240,000 vCPU-seconds/month "
                                            "(first digits '24' verified; the rest NOT verified)"),
    "instance.free_gib_seconds": (450_000, f"{PAGE} free tier, instance-based: first 450,000 GiB-seconds/month "
                                           "(NOT verified)"),
}

SECONDS_PER_MONTH = 730 * 3600  # the AWS table's 730 h month (harness/aws/prices.py HOURS_PER_MONTH), for parity


def price(name: str):
    return PRICES[name][0]


def source(name: str) -> str:
    return PRICES[name][1]
