#!/usr/bin/env bash
# A kind node image built on this machine, for podman and no image registry: kind's own node images
# come from a registry, and `kind build node-image` needs the docker CLI and fetches images. This one is
#   - Debian bookworm (base-images.sh) with Debian's systemd, containerd 1.6, runc and CNI plugins;
#   - kind's node files (entrypoint, systemd units, containerd config) from the kind module, with a
#     bridge CNI configuration (kind's own CNI, kindnetd, is an image from a registry);
#   - kubeadm, kubelet, kubectl (build-kubernetes.sh) and crictl (build-tools.sh);
#   - preloaded into its containerd, the images kubeadm asks for, under the names it asks for: the
#     control-plane components, etcd and CoreDNS (build-tools.sh), and pause built from the Kubernetes
#     source.
# Prints the image name. An image that exists is kept (MIMI_KIND_REBUILD=1 builds it again).
# Usage: node-image.sh KUBERNETES_BIN TOOLS_BIN (the directories build-kubernetes.sh and build-tools.sh
# print), after base-images.sh.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/podman-env.sh"
version="${KUBERNETES_VERSION:-v1.34.4}"
cache="${MIMI_KIND_CACHE:-$HOME/.cache/mimi-kind}"
node_image="localhost/mimi-kind/node:$version"
log() { echo "node-image: $*" >&2; }
k8s_bin="${1:?usage: node-image.sh KUBERNETES_BIN TOOLS_BIN}"
tools_bin="${2:?usage: node-image.sh KUBERNETES_BIN TOOLS_BIN}"

if podman image exists "$node_image" && [[ "${MIMI_KIND_REBUILD:-}" != 1 ]]; then
  echo "$node_image"
  exit 0
fi
started=$(date +%s)
debian_image="localhost/mimi-kind/debian:bookworm"
podman image exists "$debian_image" || { log "$debian_image is missing: run base-images.sh first"; exit 1; }
context="$cache/node-image"
rm -rf "$context" && mkdir -p "$context/bin" "$context/components"

# ---- the images kubeadm pulls, built locally under their registry names ----
mapfile -t wanted < <("$k8s_bin/kubeadm" config images list --kubernetes-version "$version")
image_named() { printf '%s\n' "${wanted[@]}" | grep -m1 "/$1:"; }
gcc -Os -static -o "$context/components/pause" "$(dirname "$k8s_bin")/src/build/pause/linux/pause.c"
cp "$k8s_bin"/kube-{apiserver,controller-manager,scheduler,proxy} "$tools_bin"/{etcd,coredns} "$context/components/"
build_component() { # image-name containerfile-text
  printf '%s\n' "$2" | podman build -q -t "$1" -f - "$context/components" >/dev/null
}
for component in kube-apiserver kube-controller-manager kube-scheduler; do
  build_component "$(image_named "$component")" "FROM $debian_image
COPY $component /usr/local/bin/$component"
done
build_component "$(image_named kube-proxy)" "FROM $debian_image
RUN apt-get update && apt-get install -y --no-install-recommends iptables conntrack ipset kmod && rm -rf /var/lib/apt/lists/*
COPY kube-proxy /usr/local/bin/kube-proxy"
build_component "$(image_named etcd)" "FROM $debian_image
COPY etcd /usr/local/bin/etcd"
build_component "$(image_named coredns)" "FROM scratch
COPY coredns /coredns
ENTRYPOINT [\"/coredns\"]"
build_component "$(image_named pause)" "FROM scratch
COPY pause /pause
USER 65535:65535
ENTRYPOINT [\"/pause\"]"
# kind's containerd configuration names its own sandbox image tag.
podman tag "$(image_named pause)" registry.k8s.io/pause:3.10
log "component images: ${wanted[*]} (and registry.k8s.io/pause:3.10)"

# ---- the node's file system ----
kind_dir="$(cd / && GOWORK=off go mod download -json "sigs.k8s.io/kind@${KIND_VERSION:-v0.33.0}" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')"
cp -a "$kind_dir/images/base/files" "$context/files" && chmod -R u+w "$context/files"
# Nodes inside containers without CAP_SYS_RESOURCE cannot lower OOM scores below their own.
sed -i 's/restrict_oom_score_adj = false/restrict_oom_score_adj = true/' "$context/files/etc/containerd/config.toml"
mkdir -p "$context/files/etc/cni/net.d"
cat >"$context/files/etc/cni/net.d/10-bridge.conflist" <<'CNI'
{"cniVersion": "1.0.0", "name": "mimi-kind", "plugins": [
  {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.244.0.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
  {"type": "portmap", "capabilities": {"portMappings": true}}
]}
CNI
cp "$k8s_bin"/{kubeadm,kubelet,kubectl} "$tools_bin/crictl" "$context/bin/"
cat >"$context/Containerfile" <<CONTAINERFILE
FROM $debian_image
COPY files/usr/local/bin/ /usr/local/bin/
COPY files/kind/ /kind/
COPY files/etc/ /etc/
RUN chmod 0755 /usr/local/bin/* /kind /kind/bin /kind/bin/* \\
 && apt-get update \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends -o Dpkg::Options::=--force-confold \\
      systemd conntrack iptables nftables iproute2 ethtool util-linux mount kmod libseccomp2 pigz \\
      bash ca-certificates curl jq procps containerd runc containernetworking-plugins \\
 && rm -rf /var/lib/apt/lists/* \\
 && find /lib/systemd/system/sysinit.target.wants/ -name systemd-tmpfiles-setup.service -delete \\
 && rm -f /lib/systemd/system/multi-user.target.wants/* /etc/systemd/system/*.wants/* \\
          /lib/systemd/system/local-fs.target.wants/* /lib/systemd/system/sockets.target.wants/*udev* \\
          /lib/systemd/system/sockets.target.wants/*initctl* /lib/systemd/system/basic.target.wants/* \\
 && echo ReadKMsg=no >> /etc/systemd/journald.conf \\
 && ln -sf /usr/lib/systemd/systemd /sbin/init \\
 && rm -f /etc/systemd/system/containerd-fuse-overlayfs.service \\
 && ln -s /usr/bin/containerd /usr/local/bin/containerd \\
 && mkdir -p /opt/cni/bin && for plugin in host-local loopback ptp portmap bridge; do ln -s /usr/lib/cni/\$plugin /opt/cni/bin/\$plugin; done \\
 && ctr oci spec | jq '.hooks.createContainer[.hooks.createContainer | length] |= . + {"path": "/kind/bin/mount-product-files.sh"}' \\
      | jq 'del(.process.rlimits)' > /etc/containerd/cri-base.json \\
 && systemctl enable kubelet.service containerd.service undo-mount-hacks.service && systemctl mask systemd-binfmt.service \\
 && mkdir -p /etc/kubernetes/manifests /kind/manifests
COPY bin/ /usr/bin/
RUN echo $version > /kind/version && kubeadm version -o short
ENV container=docker
STOPSIGNAL SIGRTMIN+3
ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]
CONTAINERFILE
podman build -q -t "$node_image-base" "$context" >/dev/null

# ---- preload: import the images into the node's containerd, then keep that as the node image ----
loader="mimi-kind-preload-$$"
podman rm -f "$loader" >/dev/null 2>&1 || true
podman run -d --privileged --name "$loader" --entrypoint /usr/bin/containerd "$node_image-base" >/dev/null
for _ in $(seq 1 30); do podman exec "$loader" ctr version >/dev/null 2>&1 && break; sleep 1; done
podman save -m "${wanted[@]}" registry.k8s.io/pause:3.10 \
  | podman exec -i "$loader" ctr -n k8s.io images import --all-platforms --no-unpack --digests - >/dev/null
podman stop -t 5 "$loader" >/dev/null 2>&1 || true
podman commit -q --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' --change 'CMD []' \
  "$loader" "$node_image" >/dev/null
podman rm -f "$loader" >/dev/null
log "$node_image built in $(( $(date +%s) - started )) s"
echo "$node_image"
