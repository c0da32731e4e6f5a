#!/usr/bin/env bash
# End-to-end run of the split deployment on a local Kubernetes cluster (kind), for machines with Docker:
#   1. creates a kind cluster and installs ingress-nginx (the chart's regex paths and SSE annotations);
#   2. installs PostgreSQL, Redis and Kafka as small single-replica manifests (official images, no
#      operators or third-party charts: nothing to keep in step but three image tags);
#   3. builds the five service images with docker/Dockerfile and loads them into the cluster;
#   4. installs one release of charts/mimi per provider (PROVIDERS, default "a b c": a.test, b.test and
#      c.test, as services/standalone/test/e2e expects; "a b" gives the two-provider minimum), each in
#      namespace mimi-<p> with its own database, Kafka topics' consumer groups and Redis key prefix, in
#      development mode over plain HTTP (MIMI_DEV_CONNECT_TO sends every provider's requests for the
#      other domains to the ingress controller, which routes by Host);
#   5. runs `helm test` on each, then the end-to-end suite against them through a port-forward of the
#      ingress controller: E2E_COMMAND (default: the standalone package's e2e tests) runs with
#      MIMI_E2E_DEPLOYMENT = {"connectTo": "a.test=127.0.0.1:<port>,...", "servers": {"a.test": "http://a.test", ...}};
#   6. deletes the cluster (KEEP_CLUSTER=1 keeps it for debugging).
# Needs: docker, kind, kubectl, helm, node, curl. Variables: CLUSTER_NAME, KEEP_CLUSTER, E2E_COMMAND,
# PROVIDERS, INGRESS_NGINX_VERSION, LOCAL_PORT.
#
# Note: all providers share one Kafka; topic names are fixed by the services, so each provider's
# messages would be seen by the others' consumers. Each release therefore gets its own Kafka broker
# (kafka-<p>), which keeps the setup honest about what a real provider has.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

cluster="${CLUSTER_NAME:-mimi-e2e}"
ingress_nginx_version="${INGRESS_NGINX_VERSION:-controller-v1.13.3}"
local_port="${LOCAL_PORT:-18080}"
e2e_command="${E2E_COMMAND:-npx -y pnpm@12.4.2 --filter @mimi/standalone exec vitest run test/e2e}"
read -r -a providers <<<"${PROVIDERS:-a b c}"
image_repository="mimi.local/mimi"
image_tag="e2e"
services=(identity keypackage-directory channel-sequencer inbox-ingest delivery-fanout)

log() { echo "kind-e2e: $*" >&2; }
need() { command -v "$1" >/dev/null || { log "$1 is required"; exit 1; }; }
for tool in docker kind kubectl helm node curl; do need "$tool"; done

port_forward_pid=""
cleanup() {
  local status=$?
  if [[ -n "$port_forward_pid" ]]; then kill "$port_forward_pid" 2>/dev/null || true; fi
  if [[ "${KEEP_CLUSTER:-}" == 1 ]]; then
    log "keeping cluster $cluster (kind delete cluster --name $cluster)"
  else
    kind delete cluster --name "$cluster" >/dev/null 2>&1 || true
  fi
  exit "$status"
}
trap cleanup EXIT

ctl() { kubectl --context "kind-$cluster" "$@"; }

# ---- 1. cluster and ingress controller ----
if ! kind get clusters 2>/dev/null | grep -qx "$cluster"; then
  log "creating kind cluster $cluster"
  kind create cluster --name "$cluster" --wait 120s
fi
log "installing ingress-nginx $ingress_nginx_version"
ctl apply -f "https://raw.githubusercontent.com/kubernetes/ingress-nginx/$ingress_nginx_version/deploy/static/provider/kind/deploy.yaml"
# Regex paths are used as the chart documents; the kind manifest runs the controller on the control-plane node.
ctl -n ingress-nginx rollout status deployment/ingress-nginx-controller --timeout=180s
ingress_address="ingress-nginx-controller.ingress-nginx.svc.cluster.local:80"

# ---- 2. PostgreSQL, Redis, Kafka ----
log "installing PostgreSQL, Redis and Kafka (namespace data)"
ctl create namespace data --dry-run=client -o yaml | ctl apply -f -
ctl -n data apply -f - <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: { name: postgres }
spec:
  selector: { matchLabels: { app: postgres } }
  template:
    metadata: { labels: { app: postgres } }
    spec:
      containers:
        - name: postgres
          image: postgres:17
          env:
            - { name: POSTGRES_USER, value: mimi }
            - { name: POSTGRES_PASSWORD, value: mimi }
            - { name: POSTGRES_DB, value: mimi }
          ports: [{ containerPort: 5432 }]
          readinessProbe: { exec: { command: ["pg_isready", "-U", "mimi"] }, periodSeconds: 2 }
---
apiVersion: v1
kind: Service
metadata: { name: postgres }
spec: { selector: { app: postgres }, ports: [{ port: 5432 }] }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: redis }
spec:
  selector: { matchLabels: { app: redis } }
  template:
    metadata: { labels: { app: redis } }
    spec:
      containers:
        - name: redis
          image: redis:7
          args: ["--save", "", "--appendonly", "no"]
          ports: [{ containerPort: 6379 }]
          readinessProbe: { exec: { command: ["redis-cli", "ping"] }, periodSeconds: 2 }
---
apiVersion: v1
kind: Service
metadata: { name: redis }
spec: { selector: { app: redis }, ports: [{ port: 6379 }] }
YAML
# One single-node KRaft broker per provider (see the note at the top).
for provider in "${providers[@]}"; do
  ctl -n data apply -f - <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: { name: kafka-$provider }
spec:
  selector: { matchLabels: { app: kafka-$provider } }
  template:
    metadata: { labels: { app: kafka-$provider } }
    spec:
      enableServiceLinks: false
      containers:
        - name: kafka
          image: apache/kafka:4.1.1
          env:
            - { name: KAFKA_NODE_ID, value: "1" }
            - { name: KAFKA_PROCESS_ROLES, value: "broker,controller" }
            - { name: KAFKA_LISTENERS, value: "PLAINTEXT://:9092,CONTROLLER://:9093" }
            - { name: KAFKA_ADVERTISED_LISTENERS, value: "PLAINTEXT://kafka-$provider.data.svc.cluster.local:9092" }
            - { name: KAFKA_CONTROLLER_LISTENER_NAMES, value: CONTROLLER }
            - { name: KAFKA_LISTENER_SECURITY_PROTOCOL_MAP, value: "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT" }
            - { name: KAFKA_CONTROLLER_QUORUM_VOTERS, value: "1@localhost:9093" }
            - { name: KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR, value: "1" }
            - { name: KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR, value: "1" }
            - { name: KAFKA_TRANSACTION_STATE_LOG_MIN_ISR, value: "1" }
            - { name: KAFKA_NUM_PARTITIONS, value: "6" }
          ports: [{ containerPort: 9092 }]
          readinessProbe: { tcpSocket: { port: 9092 }, periodSeconds: 3 }
---
apiVersion: v1
kind: Service
metadata: { name: kafka-$provider }
spec: { selector: { app: kafka-$provider }, ports: [{ port: 9092 }] }
YAML
done
for deployment in postgres redis; do
  ctl -n data rollout status "deployment/$deployment" --timeout=300s
done
for provider in "${providers[@]}"; do
  ctl -n data rollout status "deployment/kafka-$provider" --timeout=300s
done
for provider in "${providers[@]}"; do
  ctl -n data exec deploy/postgres -- psql -U mimi -d mimi -tc "select 1 from pg_database where datname = 'mimi_$provider'" |
    grep -q 1 || ctl -n data exec deploy/postgres -- psql -U mimi -d mimi -c "create database mimi_$provider"
done

# ---- 3. images ----
for service in "${services[@]}"; do
  log "building image $image_repository-$service:$image_tag"
  DOCKER_BUILDKIT=1 docker build -f docker/Dockerfile --build-arg "SERVICE=$service" -t "$image_repository-$service:$image_tag" .
  kind load docker-image --name "$cluster" "$image_repository-$service:$image_tag"
done

# ---- 4. two providers ----
connect_to=""
for provider in "${providers[@]}"; do connect_to+="${connect_to:+,}$provider.test=$ingress_address"; done
for provider in "${providers[@]}"; do
  namespace="mimi-$provider"
  ctl create namespace "$namespace" --dry-run=client -o yaml | ctl apply -f -
  # Secrets exist before the release, as in production; the chart only names them.
  ctl -n "$namespace" create secret generic mimi-secrets \
    --from-literal=MIMI_KEY_ENCRYPTION_KEY="$(node -e 'console.log(require("crypto").randomBytes(32).toString("base64"))')" \
    --from-literal=DATABASE_URL="postgres://mimi:mimi@postgres.data.svc.cluster.local:5432/mimi_$provider" \
    --from-literal=REDIS_URL="redis://redis.data.svc.cluster.local:6379" \
    --dry-run=client -o yaml | ctl apply -f -
  log "installing release $provider ($provider.test)"
  helm --kube-context "kind-$cluster" upgrade --install "mimi-$provider" charts/mimi \
    --namespace "$namespace" --wait --timeout 10m \
    --set "domain=$provider.test" \
    --set "publicUrl=http://$provider.test" \
    --set environment=development \
    --set existingSecret=mimi-secrets \
    --set "kafka.brokers[0]=kafka-$provider.data.svc.cluster.local:9092" \
    --set "image.repository=$image_repository" \
    --set "image.tag=$image_tag" \
    --set image.pullPolicy=Never \
    --set "services.keypackage-directory.env.MIMI_KEYPACKAGE_REDIS_PREFIX=mimi:$provider:kp:" \
    --set serviceDefaults.autoscaling.enabled=false \
    --set serviceDefaults.replicaCount=1 \
    --set serviceDefaults.topologySpread.enabled=false \
    --set "networkPolicy.egress.federationPorts={80,443}" \
    --set "devConnectTo=$connect_to"
  helm --kube-context "kind-$cluster" test "mimi-$provider" --namespace "$namespace" --logs
done

# ---- 5. end-to-end suite through the ingress controller ----
log "forwarding 127.0.0.1:$local_port to the ingress controller"
ctl -n ingress-nginx port-forward service/ingress-nginx-controller "$local_port:80" >/dev/null 2>&1 &
port_forward_pid=$!
for _ in $(seq 1 60); do
  if curl -fsS -H "Host: ${providers[0]}.test" "http://127.0.0.1:$local_port/.well-known/mimi-configuration" >/dev/null 2>&1; then break; fi
  sleep 1
done
for provider in "${providers[@]}"; do
  curl -fsS -H "Host: $provider.test" "http://127.0.0.1:$local_port/.well-known/mimi-configuration" >/dev/null
done

log "running: $e2e_command"
(
  cd "$root"
  # shellcheck disable=SC2016 # the single-quoted program is JavaScript; its ${} are template literals
  MIMI_E2E_DEPLOYMENT="$(node -e '
    const [port, ...domains] = process.argv.slice(1);
    const connectTo = domains.map((domain) => `${domain}=127.0.0.1:${port}`).join(",");
    const servers = Object.fromEntries(domains.map((domain) => [domain, `http://${domain}`]));
    console.log(JSON.stringify({ connectTo, servers }));
  ' "$local_port" "${providers[@]/%/.test}")"
  export MIMI_E2E_DEPLOYMENT
  bash -c "$e2e_command"
)
log "end-to-end suite passed"
