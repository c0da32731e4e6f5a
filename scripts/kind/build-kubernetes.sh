#!/usr/bin/env bash
# Builds the Kubernetes binaries a kind node needs (kubeadm, kubelet, kubectl and the control-plane
# components) from the Go module proxy, for machines that cannot download release binaries or images.
# The source of k8s.io/kubernetes comes without its staging modules, which are published as their own
# modules (k8s.io/api@v0.<minor>.<patch> and so on): they are put back under staging/ and the build
# runs in module mode. Output: $MIMI_KIND_CACHE/kubernetes-<version>/bin, reused by later runs (the first
# build on a machine compiles for 15-25 minutes on 2 cores; Go's build cache holds about 5 GB after it).
set -euo pipefail
version="${KUBERNETES_VERSION:-v1.34.4}"
cache="${MIMI_KIND_CACHE:-$HOME/.cache/mimi-kind}"
out="$cache/kubernetes-$version/bin"
src="$cache/kubernetes-$version/src"
components=(${KUBERNETES_COMPONENTS:-kubeadm kubelet kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy})
log() { echo "build-kubernetes: $*" >&2; }

missing=()
for component in "${components[@]}"; do [[ -x "$out/$component" ]] || missing+=("$component"); done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "$out"
  exit 0
fi

export GOWORK=off GOFLAGS="-mod=mod -trimpath -buildvcs=false" CGO_ENABLED=0
module_dir() { (cd / && go mod download -json "$1" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p'); }

if [[ ! -f "$src/.complete" ]]; then
  log "fetching k8s.io/kubernetes@$version and its staging modules"
  rm -rf "$src" && mkdir -p "$(dirname "$src")"
  cp -a "$(module_dir "k8s.io/kubernetes@$version")" "$src" && chmod -R u+w "$src"
  staging_version="v0.${version#v1.}"
  mkdir -p "$src/staging/src/k8s.io"
  for module in $(sed -n 's#^\s*k8s.io/\([a-z0-9-]*\) => ./staging/src/k8s.io/.*#\1#p' "$src/go.mod"); do
    # Two sample modules are not served by the proxy; nothing built here imports them.
    if ! dir="$(module_dir "k8s.io/$module@$staging_version" 2>/dev/null)" || [[ -z "$dir" ]]; then
      log "skipping k8s.io/$module (not served)"
      continue
    fi
    cp -a "$dir" "$src/staging/src/k8s.io/$module" && chmod -R u+w "$src/staging/src/k8s.io/$module"
  done
  rm -f "$src/go.work" "$src/go.work.sum"
  touch "$src/.complete"
fi

# Version stamps, so that nodes and kubeadm report the release they were built from.
minor="$(echo "$version" | cut -d. -f2)"
ldflags="-s -w"
for package in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $package.gitVersion=$version -X $package.gitMajor=1 -X $package.gitMinor=$minor"
  ldflags+=" -X $package.gitTreeState=clean -X $package.gitCommit=0000000000000000000000000000000000000000"
  ldflags+=" -X $package.buildDate=1970-01-01T00:00:00Z"
done
mkdir -p "$out"
cd "$src"
# One `go build` for all components: the packages they share compile once, and one component's link
# runs beside the next one's compilation.
started=$(date +%s)
partial="$out/.partial"
rm -rf "$partial" && mkdir -p "$partial"
go build -ldflags "$ldflags" -o "$partial/" "${missing[@]/#/./cmd/}"
for component in "${missing[@]}"; do mv "$partial/$component" "$out/$component"; done
rmdir "$partial"
log "built ${missing[*]} in $(( $(date +%s) - started )) s"
echo "$out"
