"""Cloud Run's rules (harness/cloudrun/limits.py) applied to a topology: located problems, severity error.

They run when the cloudrun target renders (so `topo render` fails naming the key and the fix). A topology without a
`cloudrun:` block does not target Cloud Run: the same findings are warnings there (`--strict` makes them errors), so
rendering every target never fails on a host the topology does not use (as harness/railway/checks.py does).
"""
from __future__ import annotations

from dataclasses import replace

from harness.cloudrun import limits
from harness.errors import Problem
from harness.model import CloudRunPlacement, Service, Topology
from harness.model import placement_key as _at


def placement(s: Service) -> CloudRunPlacement:
    """The service's `placement.cloudrun`, or Cloud Run's defaults (keyed where it would be written)."""
    p = s.placement.get("cloudrun")
    return p if isinstance(p, CloudRunPlacement) else CloudRunPlacement(key=f"{s.key}.placement.cloudrun")


def on_cloud_run(s: Service) -> bool:
    return not placement(s).host


def http_ports(s: Service) -> list:
    return [p for p in s.ports if p.protocol in ("http", "h2c", "grpc")]


def ingress_port(s: Service):
    """The one port Cloud Run sends requests to: placement.cloudrun.port, else the http healthcheck's port, else the
    only HTTP port; None when there is none to choose."""
    p = placement(s)
    if p.port:
        return s.port(p.port)
    hc = s.healthcheck
    if hc is not None and hc.kind == "http" and s.port(hc.port) is not None:
        return s.port(hc.port)
    ports = http_ports(s)
    return ports[0] if len(ports) == 1 else None


def check(t: Topology) -> list[Problem]:
    out: list[Problem] = []
    for s in t.services:
        p = placement(s)
        if p.host:
            continue
        out += _stateless(t, s, p)
        out += _settings(t, s, p)
        out += _env(t, s)
    out += _sidecars(t)
    if not t.cloudrun.declared:
        out = [replace(x, severity="warning", hint=f"{x.hint} (a warning: topology.yaml has no `cloudrun:` block)")
               for x in out]
    return out


def _stateless(t, s, p) -> list[Problem]:
    hosts = " | ".join(limits.HOSTS)
    if s.volumes:
        return [t.problem(s.volumes[0].key, f"{s.name} keeps data on volume '{s.volumes[0].name}', and Cloud Run has no "
                          "persistent disks", f"place it off Cloud Run: placement.cloudrun.host: {hosts} "
                          f"({limits.STATELESS_SOURCE})")]
    if not http_ports(s):
        what = ", ".join(f"{x.name} ({x.protocol})" for x in s.ports) or "no port"
        return [t.problem(f"{s.key}.ports" if s.ports else s.key, f"{s.name} serves {what}; Cloud Run accepts only "
                          "HTTP(S)/gRPC requests on one port", f"place it off Cloud Run: placement.cloudrun.host: "
                          f"{hosts}, or give it an HTTP port ({limits.STATELESS_SOURCE})")]
    if placement(s).sidecar_of:
        return []
    port = ingress_port(s)
    if p.port and port is None:
        return [t.problem(f"{p.key}.port", f"no port named '{p.port}' on {s.name}",
                          f"its ports are: {', '.join(x.name for x in s.ports)}")]
    if p.port and port.protocol not in ("http", "h2c", "grpc"):
        return [t.problem(f"{p.key}.port", f"port '{p.port}' of {s.name} is {port.protocol}; Cloud Run sends HTTP/1 "
                          "(http1) or HTTP/2 cleartext (h2c) requests to its one port",
                          f"name an http port ({limits.RULES['ingress_port_names'][1]})")]
    if port is None:
        return [t.problem(f"{s.key}.ports", f"{s.name} has {len(http_ports(s))} HTTP ports and Cloud Run sends requests "
                          "to exactly one", f"choose it: placement.cloudrun.port: NAME "
                          f"({limits.RULES['ingress_port_names'][1]})")]
    return []


def fits_cloud_run(t: Topology, s: Service) -> bool:
    """Whether the service can be a Cloud Run service or sidecar at all (a volume, no HTTP port or no ingress port to
    choose: it is not rendered, whatever the severity of the finding)."""
    p = placement(s)
    return not p.host and not _stateless(t, s, p)


def _settings(t, s, p) -> list[Problem]:
    out = []
    most, src = limits.RULES["concurrency_max"]
    if p.concurrency > most:
        out.append(t.problem(_at(t, s, p, "concurrency"), f"concurrency {p.concurrency} exceeds Cloud Run's {most}",
                             f"use at most {most} ({src})"))
    most, src = limits.RULES["timeout_max_seconds"]
    if p.timeout_seconds > most:
        out.append(t.problem(_at(t, s, p, "timeout_seconds"), f"a {p.timeout_seconds} s request timeout exceeds Cloud "
                             f"Run's {most} s", f"use at most {most}, or move long work to a job ({src})"))
    if p.min_instances > p.max_instances:
        out.append(t.problem(_at(t, s, p, "min_instances"), f"min_instances {p.min_instances} is above max_instances "
                             f"{p.max_instances}", "lower min_instances or raise max_instances"))
    if p.billing == "instance" and p.min_instances < 1 and not p.sidecar_of:
        out.append(t.problem(_at(t, s, p, "min_instances"), f"{s.name} is instance-billed (background work) but may "
                             "scale to zero, where nothing runs it", f"set min_instances: 1 ({limits.BILLING_SOURCE})"))
    r = s.resources
    if r is not None and not limits.fits(r.cpu, r.memory_mib):
        out.append(t.problem(r.key, f"{r.cpu:g} vCPU / {r.memory_mib} MiB is beyond Cloud Run's largest instance "
                             f"({limits.MAX_CPU} vCPU / {limits.MEMORY_BY_CPU[limits.MAX_CPU][1]} MiB)",
                             f"split the service or place it off Cloud Run ({limits.CPU_SOURCE})"))
    return out


def _env(t, s) -> list[Problem]:
    reserved, src = limits.RULES["reserved_env"]
    return [t.problem(f"{s.key}.env.{var}", f"{var} is set by Cloud Run and cannot be set",
                      f"drop it; the app must listen on the port Cloud Run passes in PORT ({src})")
            for var, _ in s.env if var in reserved]


def _sidecars(t: Topology) -> list[Problem]:
    out = []
    for s in t.services:
        p = placement(s)
        if not p.sidecar_of or p.host:
            continue
        key = f"{p.key}.sidecar_of"
        main = t.service(p.sidecar_of)
        if main is None or main is s:
            out.append(t.problem(key, f"'{p.sidecar_of}' is not another service of the topology",
                                 f"name the service whose instance {s.name} joins"))
            continue
        mp = placement(main)
        if mp.host or mp.sidecar_of:
            why = f"runs off Cloud Run ({mp.host})" if mp.host else f"is itself a sidecar of {mp.sidecar_of}"
            out.append(t.problem(key, f"{main.name} {why}, so {s.name} cannot join its instance",
                                 "name a Cloud Run service that takes requests"))
            continue
        taken = {x.port: main.name for x in main.ports}
        for other in t.services:
            if other is not s and placement(other).sidecar_of == main.name and t.services.index(other) < t.services.index(s):
                taken.update({x.port: other.name for x in other.ports})
        for x in s.ports:
            if x.port in taken:
                out.append(t.problem(f"{x.key}.port", f"port {x.port} of {s.name} is also {taken[x.port]}'s, and the "
                                     f"containers of one Cloud Run instance share localhost", "give it another port"))
        for field in ("min_instances", "max_instances", "concurrency", "timeout_seconds", "ingress", "billing", "port"):
            if field in p.given:
                out.append(replace(t.problem(f"{p.key}.{field}", f"{field} of a sidecar is not used: the instance is "
                                             f"{main.name}'s and follows its settings",
                                             f"set it on {main.name}'s placement.cloudrun"), severity="warning"))
    return out


def probe_problems(probe: dict, kind: str) -> list[str]:
    """What is wrong with one rendered probe (Knative field names) for Cloud Run (limits.PROBE_LIMITS)."""
    most_period, most_delay = limits.PROBE_LIMITS[kind]
    period, timeout = probe.get("periodSeconds", 10), probe.get("timeoutSeconds", 1)
    failures, delay = probe.get("failureThreshold", 3), probe.get("initialDelaySeconds", 0)
    out = []
    if not 1 <= period <= most_period:
        out.append(f"{kind} periodSeconds {period} is outside 1..{most_period}")
    if not 0 <= delay <= most_delay:
        out.append(f"{kind} initialDelaySeconds {delay} is outside 0..{most_delay}")
    lo, hi = limits.PROBE_TIMEOUT_RANGE
    if not lo <= timeout <= min(hi, period):
        out.append(f"{kind} timeoutSeconds {timeout} is outside {lo}..periodSeconds ({period})")
    if failures < 1:
        out.append(f"{kind} failureThreshold {failures} is below 1")
    if kind == "startup" and failures * period > limits.STARTUP_MAX_TOTAL_SECONDS:
        out.append(f"startup failureThreshold × periodSeconds = {failures * period} s exceeds "
                   f"{limits.STARTUP_MAX_TOTAL_SECONDS} s")
    return out
