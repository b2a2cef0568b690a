"""`deml ROLE` — one image, every role: frontend, backend, daemon, telemetry-worker, workers."""
from __future__ import annotations

import os
import sys

ROLES = ("frontend", "backend", "daemon", "telemetry-worker", "workers")


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] in (["-h"], ["--help"]):
        print(f"usage: deml {{{','.join(ROLES)}}} [--port PORT]   (default: $PORT, else 8080)")
        return
    if not argv or argv[0] not in ROLES or (len(argv) > 1 and (len(argv) != 3 or argv[1] != "--port"
                                                                 or not argv[2].isdigit())):
        print(f"usage: deml {{{','.join(ROLES)}}} [--port PORT]", file=sys.stderr)
        raise SystemExit(2)
    # --port wins; else PORT, which Railway and Cloud Run inject and health-check on; else 8080
    env_port = os.environ.get("PORT", "")
    port = int(argv[2]) if len(argv) == 3 else int(env_port) if env_port.isdigit() else 8080
    from deml import config, process

    process.setup_logging()
    role = argv[0]
    cfg = config.load(role)
    module = {"frontend": "frontend", "backend": "backend", "daemon": "daemon",
              "telemetry-worker": "telemetry", "workers": "workers"}[role]
    mod = __import__(f"deml.roles.{module}", fromlist=["run"])
    life = process.Lifecycle(role)
    life.install_signals()
    mod.run(cfg, life, port)


if __name__ == "__main__":
    main()
