#!/usr/bin/env bash
# Builds, from the Go module proxy, the tools and node components that are not part of Kubernetes:
# kind, crictl (kubeadm needs it on the node), etcd (kubeadm 1.34 probes /readyz and /livez, which
# Debian's etcd 3.4 lacks), CoreDNS, the Traefik ingress controller and kube-router (the network policy
# engine of the podman path).
# Output: $MIMI_KIND_CACHE/tools/bin, reused by later runs.
set -euo pipefail
cache="${MIMI_KIND_CACHE:-$HOME/.cache/mimi-kind}"
out="$cache/tools/bin"
kind_version="${KIND_VERSION:-v0.33.0}"
crictl_version="${CRICTL_VERSION:-v1.34.0}"
etcd_version="${ETCD_VERSION:-v3.6.5}"
coredns_version="${COREDNS_VERSION:-v1.12.1}"
traefik_version="${TRAEFIK_VERSION:-v3.5.3}"
kube_router_version="${KUBE_ROUTER_VERSION:-v2.1.0}"
log() { echo "build-tools: $*" >&2; }
mkdir -p "$out"
export CGO_ENABLED=0 GOFLAGS="-trimpath -buildvcs=false" GOWORK=off

install_tool() { # name module@version [ldflags]
  local name="$1" target="$2" started
  [[ -x "$out/$name" && -f "$out/$name.version" && "$(cat "$out/$name.version")" == "$target" ]] && return 0
  started=$(date +%s)
  GOBIN="$out" go install -ldflags "-s -w ${3:-}" "$target"
  echo "$target" >"$out/$name.version"
  log "built $name in $(( $(date +%s) - started )) s"
}

install_tool kind "sigs.k8s.io/kind@$kind_version"
install_tool crictl "sigs.k8s.io/cri-tools/cmd/crictl@$crictl_version"

# Modules with replace directives cannot be built by `go install module@version`: they are built from
# a copy of the module, in module mode. etcd's server module points at its siblings with ../
# replacements, which are dropped so that the released sibling modules are used.
# Optional, as environment: GO_MOD_EDIT (a sed expression for go.mod), UPGRADES (module@version
# arguments for `go get`, applied to the copy before the build), PREBUILD (a shell command run in the
# copy before the build), LDFLAGS.
build_from_copy() { # name module version package-in-module
  local name="$1" module="$2" version="$3" package="$4" upgrades stamp dir src started
  upgrades="$(echo "${UPGRADES:-}" | tr -s '[:space:]' ' ' | sed 's/^ //; s/ $//')"
  stamp="$module@$version${upgrades:+ with $upgrades}${PREBUILD:+ after $PREBUILD}"
  [[ -x "$out/$name" && "$(cat "$out/$name.version" 2>/dev/null)" == "$stamp" ]] && return 0
  started=$(date +%s)
  dir="$(cd / && go mod download -json "$module@$version" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')"
  src="$cache/tools/src/$name"
  rm -rf "$src" && mkdir -p "$(dirname "$src")" && cp -a "$dir" "$src" && chmod -R u+w "$src"
  [[ -z "${GO_MOD_EDIT:-}" ]] || sed -i "$GO_MOD_EDIT" "$src/go.mod"
  # shellcheck disable=SC2086 # a list of words
  [[ -z "$upgrades" ]] || (cd "$src" && GOFLAGS="$GOFLAGS -mod=mod" go get $upgrades)
  [[ -z "${PREBUILD:-}" ]] || (cd "$src" && GOFLAGS="$GOFLAGS -mod=mod" bash -c "$PREBUILD")
  (cd "$src" && GOFLAGS="$GOFLAGS -mod=mod" go build -ldflags "-s -w ${LDFLAGS:-}" -o "$out/$name" "$package")
  echo "$stamp" >"$out/$name.version"
  log "built $name in $(( $(date +%s) - started )) s"
}
# CoreDNS with the plugins a cluster's Corefile uses (kubeadm's default and the usual additions): the
# cloud DNS providers, etcd, gRPC, tracing and DNSSEC signing are left out (111 s to build on 2 cores
# instead of about 6 minutes) and their code stays out of the image. plugin.cfg keeps the execution order; CoreDNS's generator
# writes the plugin list from it.
coredns_plugins="metadata cancel tls timeouts reload nsid bufsize root bind debug ready health pprof prometheus
  errors log local acl any chaos loadbalance cache rewrite header minimal autopath template transfer hosts
  k8s_external kubernetes file auto secondary loop forward whoami view"
PREBUILD="grep -E '^(#|\$|($(echo $coredns_plugins | tr ' ' '|')):)' plugin.cfg >plugin.cfg.kept &&
  mv plugin.cfg.kept plugin.cfg && go run directives_generate.go" \
  build_from_copy coredns github.com/coredns/coredns "$coredns_version" .
GO_MOD_EDIT='/=> \.\.\//d' build_from_copy etcd go.etcd.io/etcd/server/v3 "$etcd_version" .
# The ingress controller of the podman path: Traefik routes the chart's regex paths with its
# router.pathmatcher annotation and passes the mailbox stream through unbuffered.
build_from_copy traefik github.com/traefik/traefik/v3 "$traefik_version" ./cmd/traefik
# The network policy engine of the podman path. v2.1.0 is the release the module proxy serves; flaws
# have been reported in the Go dependencies it was released with, so those are raised to current
# releases before the build.
UPGRADES="golang.org/x/net@v0.63.0 golang.org/x/crypto@v0.59.0 golang.org/x/sys@v0.50.0 golang.org/x/text@v0.44.0
  golang.org/x/oauth2@v0.38.0 google.golang.org/grpc@v1.85.0 google.golang.org/protobuf@v1.36.12" \
  LDFLAGS="-X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=$kube_router_version" \
  build_from_copy kube-router github.com/cloudnativelabs/kube-router/v2 "$kube_router_version" ./cmd/kube-router

echo "$out"
