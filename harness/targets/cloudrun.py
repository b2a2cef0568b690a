"""CloudRunTarget: Cloud Run services as Knative `serving.knative.dev/v1` Service YAML — one file per Cloud Run
service in deploy/cloudrun/, each what `gcloud run services replace FILE --region REGION` takes.

How the topology maps (rules and sources in harness/cloudrun/limits.py):
- A service on Cloud Run is one Cloud Run service; `placement.cloudrun.sidecar_of: MAIN` makes it a sidecar
  container in MAIN's instance instead (shared localhost, one scaling unit), started before MAIN
  (`run.googleapis.com/container-dependencies`). Only the ingress container has a port: exactly one, named `http1`
  (or `h2c`), the port the app already listens on; Cloud Run passes it in PORT, which the rendering never sets.
- A service with a volume or without an HTTP port cannot run on Cloud Run: the topology places it elsewhere
  (`placement.cloudrun.host: cloud-sql | compute-engine | memorystore | firebase`); it is reached at
  `<service>.<cloudrun.private_dns>` through Direct VPC egress (`run.googleapis.com/network-interfaces`,
  `vpc-access-egress: private-ranges-only`), written only on the services that reach such a host.
- `http://${svc.host}:${svc.port.X}` of another Cloud Run service becomes its HTTPS URL
  (`https://<svc>-<project number>.<region>.run.app`): Cloud Run serves on 443 with TLS, not on the container port.
- command → `args` (it replaces the image's CMD and keeps its ENTRYPOINT, as compose's `command` does).
- each secret → `valueFrom.secretKeyRef {name: <secret>, key: latest}`: a Secret Manager secret of the same name,
  by reference; no value is ever written.
- resources → `resources.limits` snapped to Cloud Run's table (a notice says so, as the AWS target does for Fargate);
  billing `request` → `run.googleapis.com/cpu-throttling: "true"`, `instance` → `"false"`; min/max instances →
  `autoscaling.knative.dev/minScale|maxScale`; concurrency → `containerConcurrency`; timeout → `timeoutSeconds`.
- an http healthcheck → a startupProbe (covering 240 s of start) and a livenessProbe on the same path.
- Background workers (no requests to serve): rendered as services with instance-based billing (CPU always
  allocated), min instances 1 and their HTTP health port as the ingress port — not as worker pools: worker pools
  are made for this (no URL, no autoscaling), but they are a separate resource (`gcloud run worker-pools`); the
  service form keeps one resource type, the same health port and the v2 Service model for validation. Grouping them
  in one instance (`sidecar_of`) makes one 1-vCPU instance instead of one each.
"""
from __future__ import annotations

import json
import math
import re

import yaml

from harness.cloudrun import checks, limits
from harness.model import Service, Topology, references, resolve
from harness.targets.base import UNREPRESENTABLE, Rendering, Target, View, header

DEPLOY_DIR = "deploy/cloudrun"
API_VERSION = "serving.knative.dev/v1"


def url_host(t: Topology, s: Service) -> str:
    return f"{s.name}-{t.cloudrun.project_number}.{t.cloudrun.region}.run.app"


def private_host(t: Topology, s: Service) -> str:
    return f"{s.name}.{t.cloudrun.private_dns or t.cloudrun.project + '.internal'}"


def instance_of(s: Service) -> str:
    """The Cloud Run service whose instance runs `s` (itself unless it is a sidecar)."""
    return checks.placement(s).sidecar_of or s.name


def cpu_text(cpu: float) -> str:
    return str(int(cpu)) if cpu >= 1 and float(cpu).is_integer() else f"{int(round(cpu * 1000))}m"


class CloudRunTarget(Target):
    name = "cloudrun"
    description = "Cloud Run: Knative Service YAML per service for `gcloud run services replace` (deploy/cloudrun/)"
    placement_key = None  # every service is on Cloud Run unless placement.cloudrun.host puts it elsewhere

    def render(self, topology: Topology) -> Rendering:
        t = topology
        out = Rendering(self.name)
        out.notes += checks.check(t)
        blocking = {n.path.split(".")[1] for n in out.notes if n.severity == "error" and n.path.startswith("services.")}
        blocking |= {s.name for s in t.services if checks.on_cloud_run(s) and not checks.fits_cloud_run(t, s)}
        mains = [s for s in t.services if checks.on_cloud_run(s) and not checks.placement(s).sidecar_of
                 and checks.ingress_port(s) is not None and s.name not in blocking]
        services, off = {}, {}
        for s in t.services:
            p = checks.placement(s)
            if p.host:
                off[s.name] = {"host": p.host, "address": private_host(t, s), "what": limits.HOSTS[p.host]}
        for m in mains:
            sidecars = [s for s in t.services if checks.placement(s).sidecar_of == m.name and checks.on_cloud_run(s)
                        and s.name not in blocking]
            services[m.name] = self._service(t, m, sidecars, out)
        out.data["cloudrun"] = {"services": services, "off_cloud_run": off,
                                "project": t.cloudrun.project, "region": t.cloudrun.region}
        for name, doc in services.items():
            out.files[f"{DEPLOY_DIR}/{name}.yaml"] = header("cloudrun") + (
                f"# Apply: gcloud run services replace {DEPLOY_DIR}/{name}.yaml --project {t.cloudrun.project} "
                f"--region {t.cloudrun.region}\n") + yaml.safe_dump(doc, sort_keys=False, width=120)
        lines = [header("cloudrun").rstrip("\n"),
                 "# Cloud Run services (one file each, `gcloud run services replace FILE`):"]
        lines += [f"{DEPLOY_DIR}/{n}.yaml" + (f"  (sidecars: {', '.join(c['name'] for c in d['spec']['template']['spec']['containers'][1:])})"
                                                if len(d["spec"]["template"]["spec"]["containers"]) > 1 else "")
                  for n, d in services.items()]
        lines.append("# Placed off Cloud Run (placement.cloudrun.host), reached over Direct VPC egress:")
        lines += [f"{n}: {o['host']} at {o['address']} — {o['what']}" for n, o in off.items()]
        lines.append("# Secrets are Secret Manager secrets of the same name, referenced (version latest), never valued:")
        lines.append(", ".join(sorted({sec for s in t.services if checks.on_cloud_run(s) for _, sec in s.secrets})))
        out.files[f"{DEPLOY_DIR}/GENERATED.txt"] = "\n".join(lines) + "\n"
        self._project_notes(t, off, out)
        return out

    # ---- one Cloud Run service (its ingress container and its sidecars) -------------------------------------------

    def _service(self, t: Topology, main: Service, sidecars: list[Service], out: Rendering) -> dict:
        p = checks.placement(main)
        members = [main, *sidecars]
        needs_whole = p.concurrency > 1 or p.billing == "instance"
        wanted = [(s.resources.cpu, s.resources.memory_mib) if s.resources else (1.0, 512) for s in members]
        cpus, mems, why = limits.instance_size([c for c, _ in wanted], [m for _, m in wanted], needs_whole)
        private = False
        containers = []
        for i, s in enumerate(members):
            c, reaches_private = self._container(t, s, main, ingress=(i == 0))
            private |= reaches_private
            c["resources"] = {"limits": {"cpu": cpu_text(cpus[i]), "memory": f"{mems[i]}Mi"}}
            containers.append(c)
            if s.resources and (abs(cpus[i] - s.resources.cpu) > 1e-9 or mems[i] != s.resources.memory_mib):
                out.notes.append(t.problem(s.resources.key, f"{s.resources.cpu:g} vCPU / {s.resources.memory_mib} MiB "
                                           f"is not a Cloud Run size here; snapped up to {cpu_text(cpus[i])} / "
                                           f"{mems[i]}Mi" + (f" ({'; '.join(why)})" if why and i == 0 else ""),
                                           f"the instance totals {sum(cpus):g} vCPU / {sum(mems)} MiB "
                                           f"({limits.CPU_SOURCE}; {limits.FRACTIONAL_SOURCE})", severity="notice"))
            self._notes(t, s, main, out)
        total_cpu = round(sum(cpus), 3)
        annotations = {
            "autoscaling.knative.dev/minScale": str(p.min_instances),
            "autoscaling.knative.dev/maxScale": str(p.max_instances),
            "run.googleapis.com/cpu-throttling": "true" if p.billing == "request" else "false",
        }
        if total_cpu < 1:  # a fractional CPU runs only in the first generation environment (FRACTIONAL_SOURCE)
            annotations["run.googleapis.com/execution-environment"] = "gen1"
        if sidecars:
            annotations["run.googleapis.com/container-dependencies"] = json.dumps(
                {main.name: [s.name for s in sidecars]}, separators=(",", ":"))
        if private:
            annotations["run.googleapis.com/network-interfaces"] = json.dumps(
                [{"network": t.cloudrun.network, "subnetwork": t.cloudrun.subnetwork}], separators=(",", ":"))
            annotations["run.googleapis.com/vpc-access-egress"] = "private-ranges-only"
        return {
            "apiVersion": API_VERSION, "kind": "Service",
            "metadata": {"name": main.name, "labels": {"cloud.googleapis.com/location": t.cloudrun.region},
                         "annotations": {"run.googleapis.com/ingress": p.ingress}},
            "spec": {"template": {
                "metadata": {"annotations": annotations},
                "spec": {"containerConcurrency": p.concurrency if total_cpu >= 1 else 1,
                         "timeoutSeconds": p.timeout_seconds, "containers": containers}}},
        }

    def _host_of(self, t: Topology, s: Service, main: Service):
        def host(o: Service) -> str:
            if not checks.on_cloud_run(o):
                return private_host(t, o)
            if instance_of(o) == main.name:
                return "localhost"
            return url_host(t, t.service(instance_of(o)))
        return host

    def _container(self, t: Topology, s: Service, main: Service, ingress: bool) -> tuple[dict, bool]:
        host = self._host_of(t, s, main)
        reaches_private = False

        def value(text: str) -> str:
            nonlocal reaches_private
            for _, svc, _port in references(text):
                o = t.service(svc)
                if o is not None and not checks.on_cloud_run(o):
                    reaches_private = True

            def https(m: re.Match) -> str:
                o = t.service(m[1])
                if o is None or not checks.on_cloud_run(o) or instance_of(o) == main.name:
                    return m[0]
                return f"https://{url_host(t, t.service(instance_of(o)))}"
            text = re.sub(r"http://\$\{([a-z][a-z0-9-]*)\.host\}:\$\{\1\.port\.[a-z][a-z0-9-]*\}", https, text)
            return resolve(t, text, host)

        c: dict = {"name": s.name, "image": s.image.ref}
        if s.command:
            c["args"] = [value(x) for x in s.command]
        if ingress:
            port = checks.ingress_port(s)
            c["ports"] = [{"name": "h2c" if port.protocol in ("h2c", "grpc") else "http1", "containerPort": port.port}]
        env = [{"name": k, "value": value(v)} for k, v in s.env]
        env += [{"name": var, "valueFrom": {"secretKeyRef": {"name": secret, "key": "latest"}}} for var, secret in s.secrets]
        if env:
            c["env"] = env
        hc = s.healthcheck
        if hc is not None and hc.kind == "http":
            period = max(1, int(round(hc.interval_seconds)))
            get = {"path": hc.path, "port": s.port(hc.port).port}
            c["startupProbe"] = {"httpGet": get, "periodSeconds": period, "timeoutSeconds": 1,
                                 "failureThreshold": max(1, math.ceil(limits.STARTUP_BUDGET_SECONDS / period))}
            c["livenessProbe"] = {"httpGet": dict(get), "periodSeconds": period, "timeoutSeconds": 1,
                                  "failureThreshold": 3}
        return c, reaches_private

    def _notes(self, t: Topology, s: Service, main: Service, out: Rendering) -> None:
        warn, tell = [], []
        if s.hardened:
            tell.append("no user, read-only root or capability fields: it runs as its image's USER (ours: 10001) on "
                        "Cloud Run's in-memory writable filesystem, which counts against its memory "
                        f"({limits.STATELESS_SOURCE})")
        hc = s.healthcheck
        if hc is not None and hc.kind != "http":
            warn.append(f"its {hc.kind} healthcheck is not rendered: topo renders HTTP probes (Cloud Run's are HTTP, "
                        f"TCP or gRPC, never a command) ({limits.PROBE_SOURCE})")
        if s.depends_on:
            same = [d for d in s.depends_on if t.service(d) and instance_of(t.service(d)) == main.name]
            others = [d for d in s.depends_on if d not in same]
            if others:
                tell.append(f"no start order across services: it must retry {', '.join(others)} until they answer")
        if s.secrets_as == "file" and s.secrets:
            tell.append(f"secrets as variables, not *_FILE paths: {', '.join(v for v, _ in s.secrets)} "
                        f"({limits.SECRETS_SOURCE})")
        for var, secret in s.secrets:
            sec = t.secrets.get(secret)
            if sec is not None and sec.template:
                warn.append(f"secret {secret} is built from a template ({sec.template}): store the built value as "
                            f"Secret Manager secret {secret}")
        p = checks.placement(s)
        if s is main and p.billing == "instance":
            tell.append(f"instance-based billing with {p.min_instances}..{p.max_instances} instances: CPU is always "
                        f"allocated for its background work ({limits.BILLING_SOURCE}); a worker pool is the other "
                        f"choice ({limits.WORKER_POOLS_SOURCE})")
        if s is not main:
            tell.append(f"a sidecar in {main.name}'s instance: started before {main.name}, reached on localhost only "
                        f"(its ports are not Cloud Run ports) ({limits.DEPENDENCIES_SOURCE})")
        if any(".published." in v for v in [*s.command, *(v for _, v in s.env)]):
            tell.append("${SERVICE.published.PORT} (the host machine's port locally) is the container port here")
        for severity, items in (("warning", warn), ("notice", tell)):
            if items:
                out.notes.append(t.problem(s.key, f"on Cloud Run, {s.name}: " + "; ".join(items), "",
                                           severity=severity))

    def _project_notes(self, t: Topology, off: dict, out: Rendering) -> None:
        # probes within Cloud Run's limits (a profile may lengthen the healthcheck interval they are made from)
        for name, d in out.data["cloudrun"]["services"].items():
            for c in d["spec"]["template"]["spec"]["containers"]:
                s = t.service(c["name"])
                for kind in ("startup", "liveness"):
                    probe = c.get(f"{kind}Probe")
                    for msg in (checks.probe_problems(probe, kind) if probe else []):
                        out.notes.append(t.problem(s.healthcheck.key, f"{s.name}'s {msg}",
                                                   f"keep the healthcheck interval within Cloud Run's probe limits "
                                                   f"({limits.PROBE_SOURCE})",
                                                   severity="error" if t.cloudrun.declared else "warning"))
        for name, o in off.items():
            s = t.service(name)
            if o["host"] == "firebase":
                emu = [k for k, v in (x for u in t.services if checks.on_cloud_run(u) for x in u.env)
                       if k.endswith("_EMULATOR_HOST")]
                if emu:
                    out.notes.append(t.problem(s.key, f"{name} is Google's Firebase on Google Cloud, but Cloud Run "
                                               f"services still get {', '.join(sorted(set(emu)))}: the clients would "
                                               "look for an emulator", "drop the *_EMULATOR_HOST variables for "
                                               "Cloud Run (they name the local stand-in)", severity="warning"))
        if not t.cloudrun.declared:
            out.notes.append(t.problem("project", "no `cloudrun:` block: project, region (us-central1) and network "
                                       "(default) are assumed", "add cloudrun: {project: ..., region: ...}",
                                       severity="notice"))

    # ---- parity ------------------------------------------------------------------------------------------------

    def views(self, rendering: Rendering, topology: Topology) -> dict[str, View]:
        """One parity View per service, read back from rendering.data["cloudrun"]: a service off Cloud Run as
        managed elsewhere (placement.cloudrun.host); a sidecar's ports as not expressible (only the ingress
        container has a Cloud Run port); no hardening fields (UNREPRESENTABLE)."""
        d = rendering.data["cloudrun"]
        out: dict[str, View] = {}
        for name, o in d["off_cloud_run"].items():
            out[name] = View(managed=f"off Cloud Run: {o['host']} at {o['address']}")
        for doc in d["services"].values():
            for i, c in enumerate(doc["spec"]["template"]["spec"]["containers"]):
                lim = c["resources"]["limits"]
                cpu = lim["cpu"]
                vcpu = int(cpu[:-1]) / 1000 if cpu.endswith("m") else float(cpu)
                out[c["name"]] = View(
                    image=c["image"], command=list(c.get("args", [])),
                    env={e["name"]: e["value"] for e in c.get("env", []) if "value" in e},
                    secrets={e["name"] for e in c.get("env", []) if "valueFrom" in e},
                    ports={pt["containerPort"] for pt in c.get("ports", [])} if i == 0 else UNREPRESENTABLE,
                    hardening=UNREPRESENTABLE, resources=(vcpu, int(lim["memory"][:-2])))
        return out


# ---- the published v2 API model (tests and `topo render` use it to validate) ----------------------------------------

def to_v2(doc: dict, project: str) -> dict:
    """A rendered Knative Service as the Cloud Run Admin v2 `Service` JSON (google/cloud/run/v2/service.proto), field
    by field: what `gcloud run services replace` turns it into. Any Knative field not mapped here raises KeyError in
    the test that checks every key is read."""
    meta, tmpl = doc["metadata"], doc["spec"]["template"]
    ann, spec = tmpl["metadata"]["annotations"], tmpl["spec"]
    region = meta["labels"]["cloud.googleapis.com/location"]
    ingress = {"all": "INGRESS_TRAFFIC_ALL", "internal": "INGRESS_TRAFFIC_INTERNAL_ONLY",
               "internal-and-cloud-load-balancing": "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"}
    deps = json.loads(ann.get("run.googleapis.com/container-dependencies", "{}"))
    containers = []
    for c in spec["containers"]:
        v2: dict = {"name": c["name"], "image": c["image"]}
        if "args" in c:
            v2["args"] = c["args"]
        if "ports" in c:
            v2["ports"] = [{"name": p["name"], "containerPort": p["containerPort"]} for p in c["ports"]]
        env = []
        for e in c.get("env", []):
            if "valueFrom" in e:
                ref = e["valueFrom"]["secretKeyRef"]
                env.append({"name": e["name"], "valueSource": {"secretKeyRef": {"secret": ref["name"],
                                                                                 "version": ref["key"]}}})
            else:
                env.append({"name": e["name"], "value": e["value"]})
        if env:
            v2["env"] = env
        v2["resources"] = {"limits": dict(c["resources"]["limits"]),
                           "cpuIdle": ann["run.googleapis.com/cpu-throttling"] == "true"}
        for kind in ("startupProbe", "livenessProbe"):
            if kind in c:
                v2[kind] = dict(c[kind])
        if c["name"] in deps:
            v2["dependsOn"] = deps[c["name"]]
        containers.append(v2)
    template: dict = {
        "scaling": {"minInstanceCount": int(ann["autoscaling.knative.dev/minScale"]),
                    "maxInstanceCount": int(ann["autoscaling.knative.dev/maxScale"])},
        "timeout": f"{spec['timeoutSeconds']}s",
        "maxInstanceRequestConcurrency": spec["containerConcurrency"],
        "containers": containers,
    }
    if "run.googleapis.com/execution-environment" in ann:
        template["executionEnvironment"] = {"gen1": "EXECUTION_ENVIRONMENT_GEN1",
                                            "gen2": "EXECUTION_ENVIRONMENT_GEN2"}[ann["run.googleapis.com/execution-environment"]]
    if "run.googleapis.com/network-interfaces" in ann:
        template["vpcAccess"] = {
            "networkInterfaces": json.loads(ann["run.googleapis.com/network-interfaces"]),
            "egress": {"private-ranges-only": "PRIVATE_RANGES_ONLY",
                       "all-traffic": "ALL_TRAFFIC"}[ann["run.googleapis.com/vpc-access-egress"]]}
    return {"name": f"projects/{project}/locations/{region}/services/{meta['name']}",
            "ingress": ingress[meta["annotations"]["run.googleapis.com/ingress"]], "template": template}
