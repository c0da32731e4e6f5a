#!/usr/bin/env bash
# Disrupts the releases kind-e2e.sh installed, while the end-to-end suite's disruption test keeps
# traffic flowing (it runs this as its deployment's `disrupt` command):
#   1. in each release, the pod of each service is deleted in turn; its Deployment starts a new one,
#      and the next deletion waits until that one is Ready and traffic has flowed for a few seconds;
#   2. each release is upgraded to the image tag NEXT_TAG (the same images under another tag, loaded
#      into the cluster beforehand), which rolls every Deployment: a new pod is Ready before the old
#      one stops.
# Usage: disrupt.sh KUBE_CONTEXT NEXT_TAG PROVIDER... (the release of provider p is mimi-p in mimi-p).
set -euo pipefail
context="${1:?usage: disrupt.sh KUBE_CONTEXT NEXT_TAG PROVIDER...}"
next_tag="${2:?usage: disrupt.sh KUBE_CONTEXT NEXT_TAG PROVIDER...}"
shift 2
cd "$(dirname "$0")/../.."
services=(identity keypackage-directory channel-sequencer inbox-ingest delivery-fanout)
settle_seconds="${DISRUPT_SETTLE_SECONDS:-5}"
log() { echo "disrupt: $(date +%T) $*" >&2; }
ctl() { kubectl --context "$context" "$@"; }

for provider in "$@"; do
  for service in "${services[@]}"; do
    selector="app.kubernetes.io/instance=mimi-$provider,app.kubernetes.io/component=$service"
    pod="$(ctl -n "mimi-$provider" get pod -l "$selector" --field-selector=status.phase=Running -o name | head -n 1)"
    log "deleting $pod (mimi-$provider)"
    started=$(date +%s)
    ctl -n "mimi-$provider" delete "$pod" --wait=true >/dev/null
    ctl -n "mimi-$provider" wait --for=condition=Ready pod -l "$selector" --timeout=300s >/dev/null
    log "mimi-$provider-$service Ready again after $(( $(date +%s) - started )) s"
    sleep "$settle_seconds"
  done
done

for provider in "$@"; do
  log "upgrading mimi-$provider to image tag $next_tag"
  started=$(date +%s)
  helm --kube-context "$context" upgrade "mimi-$provider" charts/mimi --namespace "mimi-$provider" \
    --reuse-values --set "image.tag=$next_tag" --wait --timeout 10m >/dev/null
  log "mimi-$provider upgraded in $(( $(date +%s) - started )) s"
  sleep "$settle_seconds"
done
log "done"
