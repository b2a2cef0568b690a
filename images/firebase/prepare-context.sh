#!/usr/bin/env bash
# Stage the Cloud Firestore emulator jar into images/firebase/vendor/ (git-ignored) before
# `docker build`: it cannot be downloaded during the build. Source, first found:
#   $FIRESTORE_EMULATOR_JAR, then the Google Cloud CLI component `cloud-firestore-emulator`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# the event envelope schema is the app's; the function validates against the same file (copy git-ignored)
schema_src="$here/../../app/deml/envelope.schema.json"
if ! cmp -s "$schema_src" "$here/functions/envelope.schema.json" 2>/dev/null; then
  cp "$schema_src" "$here/functions/envelope.schema.json"
  echo "prepare-context: copied the envelope schema from app/deml/"
fi
dest="$here/vendor/cloud-firestore-emulator.jar"
rel="platform/cloud-firestore-emulator/cloud-firestore-emulator.jar"

candidates=()
[ -n "${FIRESTORE_EMULATOR_JAR:-}" ] && candidates+=("$FIRESTORE_EMULATOR_JAR")
if command -v gcloud >/dev/null 2>&1; then
  root="$(gcloud info --format='value(installation.sdk_root)' 2>/dev/null || true)"
  [ -n "$root" ] && candidates+=("$root/$rel")
fi
candidates+=("/usr/lib/google-cloud-sdk/$rel" "/usr/share/google-cloud-sdk/$rel"
             "/opt/google-cloud-sdk/$rel" "${HOME:-/root}/google-cloud-sdk/$rel")

src=""
for c in "${candidates[@]}"; do
  if [ -f "$c" ]; then src="$c"; break; fi
done
if [ -z "$src" ]; then
  if [ -z "${FIRESTORE_EMULATOR_JAR:-}" ] && [ -f "$dest" ]; then
    echo "prepare-context: no Firestore emulator jar on this host; keeping $dest" >&2
    exit 0
  fi
  {
    echo "prepare-context: ERROR: Cloud Firestore emulator jar not found. Looked at:"
    printf '  %s\n' "${candidates[@]}"
    echo "Install the Google Cloud CLI component 'cloud-firestore-emulator'"
    echo "(gcloud components install cloud-firestore-emulator, or the OS package"
    echo "google-cloud-cli-firestore-emulator), or set FIRESTORE_EMULATOR_JAR=/path/to/jar."
  } >&2
  exit 1
fi
if ! unzip -l "$src" >/dev/null 2>&1 && ! python3 -c 'import sys, zipfile; sys.exit(not zipfile.is_zipfile(sys.argv[1]))' "$src" 2>/dev/null; then
  echo "prepare-context: ERROR: $src is not a jar (zip) file" >&2
  exit 1
fi

mkdir -p "$here/vendor"
if [ -f "$dest" ] && cmp -s "$src" "$dest"; then
  echo "prepare-context: $dest is up to date"
else
  cp "$src" "$dest.tmp" && mv "$dest.tmp" "$dest"
  echo "prepare-context: copied $src -> $dest"
fi
