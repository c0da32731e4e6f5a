#!/usr/bin/env bash
# The images of what the providers depend on in the cluster, for a machine with no image registry,
# built FROM the local Debian image (base-images.sh): localhost/mimi-kind/{postgres,redis,kafka}:local,
# each configured like its official image, localhost/mimi-kind/traefik:local, the ingress controller,
# and localhost/mimi-kind/kube-router:local, the network policy engine (see scripts/kind/data/*/
# Containerfile). An image is rebuilt when what it is built from changed: its folder under data/, the
# Kafka jars' pom.xml, the version of a binary from build-tools.sh (a label on the image records them).
# Usage: dependency-images.sh TOOLS_BIN (the directory build-tools.sh prints), after base-images.sh.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/podman-env.sh"
root="$(cd "$here/../.." && pwd)"
cache="${MIMI_KIND_CACHE:-$HOME/.cache/mimi-kind}"
base_image="localhost/mimi-kind/debian:bookworm"
log() { echo "dependency-images: $*" >&2; }
tools_bin="${1:?usage: dependency-images.sh TOOLS_BIN}"
podman image exists "$base_image" || { log "$base_image is missing: run base-images.sh first"; exit 1; }

# What an image is built from, in one line.
stamp_of() { # name
  local files=("$here/data/$1"/*) stamp
  [[ "$1" == kafka ]] && files+=("$root/scripts/kafka/pom.xml")
  stamp="$(cat "${files[@]}" | sha256sum | cut -c1-16)"
  [[ -f "$tools_bin/$1.version" ]] && stamp+=" $(cat "$tools_bin/$1.version")"
  echo "$stamp"
}

for name in postgres redis kafka traefik kube-router; do
  image="localhost/mimi-kind/$name:local"
  stamp="$(stamp_of "$name")"
  [[ "$(podman image inspect --format '{{index .Labels "mimi-kind.stamp"}}' "$image" 2>/dev/null)" == "$stamp" ]] && continue
  started=$(date +%s)
  context="$cache/dependency-images/$name"
  rm -rf "$context" && mkdir -p "$context" && cp -a "$here/data/$name/." "$context/"
  if [[ "$name" == kafka ]]; then
    # The broker's runtime classpath, as scripts/infra fetches it for the tests.
    mvn -q -B -f "$root/scripts/kafka/pom.xml" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$context/libs" >"$cache/dependency-images/maven.log" 2>&1 \
      || { tail -n 40 "$cache/dependency-images/maven.log" >&2; exit 1; }
  fi
  if [[ "$name" == traefik || "$name" == kube-router ]]; then
    cp "$tools_bin/$name" "$context/$name"
  fi
  podman build -q --build-arg "BASE_IMAGE=$base_image" --label "mimi-kind.stamp=$stamp" -t "$image" "$context" >/dev/null
  log "$image built in $(( $(date +%s) - started )) s"
done
