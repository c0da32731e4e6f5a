#!/usr/bin/env bash
# Installs podman and what a kind cluster on podman and the image builds need, from Debian's packages,
# when podman is missing. Needs root (or sudo).
set -euo pipefail
command -v podman >/dev/null && command -v debootstrap >/dev/null && exit 0
sudo=""
[[ "$(id -u)" == 0 ]] || sudo="sudo"
echo "install-podman: installing podman, runc, CNI plugins and debootstrap with apt" >&2
$sudo apt-get update -q >/dev/null
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends \
  podman buildah runc slirp4netns uidmap containernetworking-plugins iptables conntrack \
  fuse-overlayfs debootstrap gcc libc6-dev >/dev/null
