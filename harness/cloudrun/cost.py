"""Cloud Run's monthly cost from the rendering (what is allocated) and a usage measurement (how many instances the
measured load needs), priced from harness/cloudrun/prices.py. Called by harness/cost.py (`topo cost --compare`).

Cloud Run bills ALLOCATED CPU and memory while an instance is billable, so the measurement decides the instance
count and, for request-based billing, the billable time:
- instance-based (`cpu-throttling: false`, background workers): every instance bills all month; instances =
  max(min instances, what the measured CPU needs).
- request-based: an instance bills while it serves at least one request. Under the measured load (hundreds of
  requests in half a minute, continuously) an instance is never idle, so it bills all month: a ceiling that holds
  while the load does. Idle, it scales to zero (min instances 0) and bills nothing. Requests are priced only when the
  usage file counts them (`requests` per service); otherwise the line says they were not measured.
The free tier (per billing account, per month) comes off each billing mode's CPU and memory.
"""
from __future__ import annotations

import math
from dataclasses import asdict

from harness.cloudrun.prices import PRICES_DATE, SECONDS_PER_MONTH, price, source


def _cpu(text: str) -> float:
    return int(text[:-1]) / 1000 if text.endswith("m") else float(text)


def estimate(t, usage: dict, usage_path: str) -> dict:
    from harness.cost import CostLine
    from harness.targets.cloudrun import CloudRunTarget

    r = CloudRunTarget().render(t)
    measured = usage["services"]
    idle = (usage.get("idle") or {}).get("services") or {}
    requests = usage.get("requests") or {}
    lines: list[CostLine] = []
    idle_lines: list[CostLine] = []
    used = {"request": [0.0, 0.0], "instance": [0.0, 0.0]}  # billable vCPU-s, GiB-s
    idle_used = {"request": [0.0, 0.0], "instance": [0.0, 0.0]}
    missing, modes = [], {}
    for name, doc in r.data["cloudrun"]["services"].items():
        tmpl = doc["spec"]["template"]
        ann, containers = tmpl["metadata"]["annotations"], tmpl["spec"]["containers"]
        mode = "request" if ann["run.googleapis.com/cpu-throttling"] == "true" else "instance"
        cpu = round(sum(_cpu(c["resources"]["limits"]["cpu"]) for c in containers), 3)
        gib = sum(int(c["resources"]["limits"]["memory"][:-2]) for c in containers) / 1024
        names = [c["name"] for c in containers]
        if any(n not in measured for n in names):
            missing += [n for n in names if n not in measured]
            continue
        need = sum(float(measured[n]["avg_vcpu"]) for n in names)
        low = int(ann["autoscaling.knative.dev/minScale"])
        n = max(low, math.ceil(need / cpu - 1e-9), 1)
        why = ("instance-based: CPU always allocated for its background work (cpu-throttling false), billed all "
               "month" if mode == "instance" else
               "request-based: billed while serving; under the measured load never idle, so all month (a ceiling)")
        group = f" (with sidecars {', '.join(names[1:])})" if len(names) > 1 else ""
        vcpu_s, gib_s = cpu * n * SECONDS_PER_MONTH, gib * n * SECONDS_PER_MONTH
        used[mode][0] += vcpu_s
        used[mode][1] += gib_s
        usd = vcpu_s * price(f"{mode}.vcpu_second") + gib_s * price(f"{mode}.gib_second")
        lines.append(CostLine(f"Cloud Run CPU + memory ({mode}-based)", name + group,
                              f"{cpu:g} vCPU / {gib * 1024:.0f} MiB × {n}", usd,
                              f"{why}: ({cpu:g} vCPU × ${price(f'{mode}.vcpu_second')}/vCPU-s + {gib:.3f} GiB × "
                              f"${price(f'{mode}.gib_second')}/GiB-s) × {n} instance(s) × {SECONDS_PER_MONTH:,} s; "
                              f"measured {need:.3f} vCPU in use of {cpu * n:g} allocated",
                              f"{source(f'{mode}.vcpu_second')}; {source(f'{mode}.gib_second')}"))
        modes[name] = mode
        idle_n = low if mode == "request" else max(low, 1)
        idle_used[mode][0] += cpu * idle_n * SECONDS_PER_MONTH
        idle_used[mode][1] += gib * idle_n * SECONDS_PER_MONTH
        idle_lines.append(CostLine("", name, "", (cpu * price(f"{mode}.vcpu_second") + gib * price(f"{mode}.gib_second"))
                                   * idle_n * SECONDS_PER_MONTH, "", ""))
        if mode == "request":
            count = requests.get(name)
            if count is not None and usage.get("window_s"):
                per_month = count / float(usage["window_s"]) * SECONDS_PER_MONTH
                lines.append(CostLine("Cloud Run requests", name, f"{per_month / 1e6:.1f} M", per_month / 1e6 *
                                      price("request.per_million"), f"{count} requests in {usage['window_s']} s held all "
                                      f"month × ${price('request.per_million')}/million", source("request.per_million")))
                used["request"].append(per_month)
            else:
                lines.append(CostLine("Cloud Run requests", name, "not measured", 0.0,
                                      f"the usage file does not count {name}'s requests: the per-request fee "
                                      f"(${price('request.per_million')}/million after 2 million free) is left out",
                                      source("request.per_million")))

    def free(u: dict) -> list[CostLine]:
        out = []
        for mode in ("request", "instance"):
            vcpu_s, gib_s = u[mode][0], u[mode][1]
            fv, fg = price(f"{mode}.free_vcpu_seconds"), price(f"{mode}.free_gib_seconds")
            off = (min(vcpu_s, fv) * price(f"{mode}.vcpu_second") + min(gib_s, fg) * price(f"{mode}.gib_second"))
            if len(u[mode]) > 2:
                off += min(u[mode][2], price("request.free_requests")) / 1e6 * price("request.per_million")
            if off:
                out.append(CostLine(f"Free tier ({mode}-based)", "billing account", f"{fv:,} vCPU-s / {fg:,} GiB-s",
                                    -off, f"the first {fv:,} vCPU-seconds and {fg:,} GiB-seconds a month are free",
                                    f"{source(f'{mode}.free_vcpu_seconds')}; {source(f'{mode}.free_gib_seconds')}"))
        return out

    lines += free(used)
    off = r.data["cloudrun"]["off_cloud_run"]
    for name, o in off.items():
        lines.append(CostLine("Off Cloud Run (not priced)", name, o["host"], 0.0,
                              f"{o['what']}: its prices are not in harness/cloudrun/prices.py, so it is left out of "
                              "the Cloud Run total (compare it with the AWS side's own line)", "-"))
    total = sum(x.monthly_usd for x in lines)
    idle_total = sum(x.monthly_usd for x in idle_lines) + sum(x.monthly_usd for x in free(idle_used))
    m = usage.get("measured") or {}
    return {
        "title": "Cloud Run", "prices_date": PRICES_DATE,
        "plan": f"tier 1 ({t.cloudrun.region})", "plan_why": "prices of Cloud Run's tier 1 regions "
                                                                "(harness/cloudrun/prices.py); billing mode per service "
                                                                "from its rendering (run.googleapis.com/cpu-throttling)",
        "billing": modes,
        "lines": [asdict(x) | {"monthly_usd": round(x.monthly_usd, 2)} for x in lines],
        "total_usd": round(total, 2), "idle_total_usd": round(idle_total, 2),
        "idle_window_s": (usage.get("idle") or {}).get("window_s") if idle else None,
        "assumption": ("Cloud Run bills the CPU and memory ALLOCATED (deploy/cloudrun, snapped to Cloud Run's table), "
                       f"not the measured use; the measurement of {usage.get('window_s')} s ({m.get('at')}) sets how "
                       "many instances the load needs and, for request-based services, that they are never idle "
                       "under it (billed all month: a ceiling); idle, request-based services scale to zero"),
        "measured": m | {"window_s": usage.get("window_s"), "file": usage_path},
        "not_measured": sorted(set(missing)),
        "left_out": [f"{n} (off Cloud Run: {o['host']}; not priced)" for n, o in off.items()],
        "measured_not_in_topology": sorted(set(measured) - {s.name for s in t.services}),
    }
