"""Railway's rules (harness/railway/limits.py) applied to a topology: located problems, severity error.

They run when the Railway target renders (so `topo render` fails naming the key and the fix), not at load. A
topology without a `railway:` block does not target Railway: the same findings are warnings there (`--strict`
makes them errors), so rendering every target never fails on a host the topology does not use.
"""
from __future__ import annotations

from dataclasses import replace

from harness.errors import Problem
from harness.model import RailwayPlacement, Service, Topology
from harness.model import placement_key as _at
from harness.railway import limits


def placement(s: Service) -> RailwayPlacement:
    """The service's `placement.railway`, or Railway's defaults (keyed at the service, where it would be added)."""
    p = s.placement.get("railway")
    return p if isinstance(p, RailwayPlacement) else RailwayPlacement(key=f"{s.key}.placement.railway")


def check(t: Topology) -> list[Problem]:
    out: list[Problem] = []
    plan = limits.PLANS[t.railway.plan]
    plan_key = "railway.plan" if "railway.plan" in t.marks else "railway" if t.railway.declared else "project"
    for s in t.services:
        p = placement(s)
        out += _volumes(t, s, p, plan, plan_key)
        out += _size(t, s, p, plan, plan_key)
        out += _public(t, s, p)
        out += _cron(t, s, p)
        out += _restart(t, s, p, plan, plan_key)
    if not t.railway.declared:
        out = [replace(x, severity="warning", hint=f"{x.hint} (a warning: topology.yaml has no `railway:` block)")
               for x in out]
    return out


def _volumes(t, s, p, plan, plan_key) -> list[Problem]:
    out = []
    most, src = limits.RULES["volumes_per_service"]
    for v in s.volumes[most:]:
        out.append(t.problem(v.key, f"{s.name} mounts {len(s.volumes)} volumes; a Railway service has one",
                             f"keep one volume per service, or split {s.name} in two services ({src})"))
    if s.volumes:
        vmax = plan.volume_bytes
        for v in s.volumes[:most]:
            if v.size_bytes is not None and v.size_bytes > vmax:
                out.append(t.problem(f"{v.key}.size", f"{v.size} exceeds the {plan.name} plan's volume maximum of "
                                     f"{_gb(vmax)}", f"use at most {_gb(vmax)}, or set railway.plan to a larger plan "
                                     f"({limits.PLANS_SOURCE})"))
        one, src = limits.RULES["replicas_with_volume"]
        if p.replicas > one:
            out.append(t.problem(_at(t, s, p, "replicas"), f"{s.name} has a volume, so it runs exactly one replica "
                                 f"(not {p.replicas})", f"set replicas: 1 or drop the volume ({src})"))
    if p.replicas > plan.replicas:
        out.append(t.problem(_at(t, s, p, "replicas"), f"{p.replicas} replicas exceed the {plan.name} plan's "
                             f"{plan.replicas} per service", f"use at most {plan.replicas} or change railway.plan "
                             f"({limits.PLANS_SOURCE})"))
    return out


def _size(t, s, p, plan, plan_key) -> list[Problem]:
    """resources × replicas within the plan's per-service caps (and Pro's per-replica cap, see limits.PER_REPLICA)."""
    if s.resources is None:
        return []
    out = []
    r = s.resources
    n = max(p.replicas, 1)
    cpu, mem = r.cpu * n, r.memory_mib * limits.MIB * n
    if cpu > plan.vcpu + 1e-9 or mem > plan.memory_bytes:
        out.append(t.problem(r.key, f"{s.name} asks {r.cpu:g} vCPU / {r.memory_mib} MiB × {n} replica(s) = {cpu:g} vCPU"
                             f" / {_gb(mem)}; the {plan.name} plan allows {plan.vcpu:g} vCPU / {_gb(plan.memory_bytes)}"
                             " per service, replicas included",
                             f"lower resources or replicas, or set railway.plan to a larger plan ({limits.PLANS_SOURCE})"))
    if plan.name in limits.PER_REPLICA:
        vcpu, membytes = limits.PER_REPLICA[plan.name]
        if r.cpu > vcpu + 1e-9 or r.memory_mib * limits.MIB > membytes:
            out.append(t.problem(r.key, f"one replica of {s.name} asks {r.cpu:g} vCPU / {r.memory_mib} MiB; a {plan.name}"
                                 f" replica gets at most {vcpu:g} vCPU / {_gb(membytes)}",
                                 f"spread the load over more replicas ({limits.PER_REPLICA_SOURCE})"))
    return out


def _public(t, s, p) -> list[Problem]:
    out = []
    by_mode: dict[str, list[str]] = {"http": [], "tcp": []}
    protocols, http_src = limits.RULES["public_http_only"]
    for name, mode in p.public.items():
        port = s.port(name)
        if port is None:
            continue  # the loader reports an unknown port name
        key = f"{p.key}.public.{name}"
        by_mode[mode].append(name)
        if port.protocol == "udp":
            out.append(t.problem(key, f"port '{name}' of {s.name} is UDP; Railway's public network carries HTTP(S) "
                                 "and TCP only", f"keep it on the private network (drop it from public) ({http_src})"))
        elif mode == "http" and port.protocol not in protocols:
            out.append(t.problem(key, f"port '{name}' of {s.name} is {port.protocol}, but Railway's public domains carry "
                                 "HTTP(S) only", f"publish it through the TCP proxy: `{name}: tcp` ({http_src})"))
    for mode, rule in (("http", "generated_domains_per_service"), ("tcp", "tcp_proxies_per_service")):
        most, src = limits.RULES[rule]
        what = "generated domain" if mode == "http" else "TCP proxy"
        for name in by_mode[mode][most:]:
            out.append(t.problem(f"{p.key}.public.{name}", f"{s.name} already has a {what} (port "
                                 f"'{by_mode[mode][0]}'); Railway gives a service at most {most}",
                                 f"publish one port as {mode}, keep the others private ({src})"))
    return out


def _cron(t, s, p) -> list[Problem]:
    if not p.cron:
        return []
    key = f"{p.key}.cron"
    least, src = limits.RULES["cron_min_interval_minutes"]
    gap = limits.cron_min_interval(p.cron)
    if gap is None:
        return [t.problem(key, f"'{p.cron}' is not a 5-field crontab (minute hour day month weekday)",
                          f"e.g. '*/15 * * * *' (UTC) ({src})")]
    if gap < least:
        return [t.problem(key, f"'{p.cron}' runs {gap} minute(s) apart; Railway's shortest cron interval is {least}",
                          f"run at most every {least} minutes, e.g. '*/{least} * * * *' ({src})")]
    return []


def _restart(t, s, p, plan, plan_key) -> list[Problem]:
    out = []
    if p.restart == "always" and not plan.restart_always:
        out.append(t.problem(_at(t, s, p, "restart"), f"the {plan.name} plan has no `always` restart policy",
                             f"use restart: on-failure (at most {plan.restart_max_retries} retries) or a paid plan "
                             f"({limits.RESTART_SOURCE})"))
    if (p.restart == "on-failure" and plan.restart_max_retries is not None
            and p.restart_max_retries > plan.restart_max_retries):
        out.append(t.problem(_at(t, s, p, "restart_max_retries"), f"{p.restart_max_retries} restarts exceed the "
                             f"{plan.name} plan's {plan.restart_max_retries}",
                             f"use at most {plan.restart_max_retries} or a paid plan ({limits.RESTART_SOURCE})"))
    return out


def _gb(n: int) -> str:
    gb = n / limits.GIB
    return f"{gb:g} GB" if gb < 1024 else f"{gb / 1024:g} TB"
