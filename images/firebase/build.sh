#!/usr/bin/env bash
# Build deml/firebase:0.1.0 (override with IMAGE=...). Extra arguments go to `docker build`.
# The host CA bundle ($CA_BUNDLE, default the Debian one) is passed as the BuildKit secret
# "cacert" for TLS-intercepting proxies; it is never copied into the image.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$here/prepare-context.sh"
ca="${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
secret=()
[ -f "$ca" ] && secret=(--secret "id=cacert,src=$ca")
# BuildKit without buildx: a docker client >= 23 needs the buildx plugin for that, the OS's
# client (Debian's own docker package, 20.10) does it itself. Use $DOCKER, else a client that can.
docker="${DOCKER:-docker}"
if [ -z "${DOCKER:-}" ] && ! docker buildx version >/dev/null 2>&1 && [ -x /usr/bin/docker ] \
   && [ "$(/usr/bin/docker version --format '{{.Client.Version}}' 2>/dev/null | cut -d. -f1)" = 20 ]; then
  docker=/usr/bin/docker
fi
DOCKER_BUILDKIT=1 exec "$docker" build "${secret[@]}" -t "${IMAGE:-deml/firebase:0.1.0}" "$@" "$here"
