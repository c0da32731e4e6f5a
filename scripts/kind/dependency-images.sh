#!/usr/bin/env bash
# The images of what the providers depend on in the cluster, for a machine with no image registry,
# built FROM the local Debian image (base-images.sh): localhost/mimi-kind/{postgres,redis,kafka}:local,
# each configured like its official image, and localhost/mimi-kind/traefik:local, the ingress
# controller (see scripts/kind/data/*/Containerfile). Images that exist are kept.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/podman-env.sh"
root="$(cd "$here/../.." && pwd)"
cache="${MIMI_KIND_CACHE:-$HOME/.cache/mimi-kind}"
base_image="localhost/mimi-kind/debian:bookworm"
log() { echo "dependency-images: $*" >&2; }
bash "$here/base-images.sh" >/dev/null

for name in postgres redis kafka traefik; do
  image="localhost/mimi-kind/$name:local"
  podman image exists "$image" && continue
  started=$(date +%s)
  context="$cache/dependency-images/$name"
  rm -rf "$context" && mkdir -p "$context" && cp -a "$here/data/$name/." "$context/"
  if [[ "$name" == kafka ]]; then
    # The broker's runtime classpath, as scripts/infra fetches it for the tests.
    mvn -q -B -f "$root/scripts/kafka/pom.xml" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$context/libs" >"$cache/dependency-images/maven.log" 2>&1 \
      || { tail -n 40 "$cache/dependency-images/maven.log" >&2; exit 1; }
  fi
  if [[ "$name" == traefik ]]; then
    cp "$(bash "$here/build-tools.sh")/traefik" "$context/traefik"
  fi
  podman build -q --build-arg "BASE_IMAGE=$base_image" -t "$image" "$context" >/dev/null
  log "$image built in $(( $(date +%s) - started )) s"
done
