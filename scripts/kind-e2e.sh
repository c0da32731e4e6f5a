#!/usr/bin/env bash
# End-to-end run of the split deployment on a local Kubernetes cluster (kind), with Docker or podman:
#   1. creates a kind cluster and installs an ingress controller: ingress-nginx with Docker (the chart's
#      regex paths and SSE annotations), Traefik with podman (its regex path matcher);
#   2. installs PostgreSQL, Redis and Kafka as small single-replica manifests (official images, or
#      images configured like them on podman; no operators or third-party charts);
#   3. builds the five service images with docker/Dockerfile and loads them into the cluster;
#   4. installs one release of charts/mimi per provider (PROVIDERS, default "a b c": a.test, b.test and
#      c.test, as services/standalone/test/e2e expects; "a b" gives the two-provider minimum), each in
#      namespace mimi-<p> with its own database, Kafka topics' consumer groups and Redis key prefix, in
#      development mode over plain HTTP (MIMI_DEV_CONNECT_TO sends every provider's requests for the
#      other domains to the ingress controller, which routes by Host);
#   5. runs `helm test` on each, and checks NetworkPolicy: a pod of the first release reaches its
#      identity Service, pods in other namespaces do not (kube-router enforces the policies on podman;
#      with Docker, kind's own CNI, kindnet, does, from kind v0.24 on);
#   6. runs the end-to-end suite against them through a port-forward of the ingress controller:
#      E2E_COMMAND (default: the standalone package's e2e tests) runs with
#      MIMI_E2E_DEPLOYMENT = {"connectTo": "a.test=127.0.0.1:<port>,...", "servers": {"a.test": "http://a.test", ...},
#      "hostilePort": <port>, "hostileAddress": <address>}: the suite's hostile provider, evil.test,
#      runs on this machine at the address of the cluster network's gateway (HOST_ADDRESS), where
#      every release maps evil.test;
#   7. runs DISRUPTION_COMMAND (default: the suite's disruption test) with the same deployment and a
#      `disrupt` command, scripts/kind/disrupt.sh: while three users keep sending, a pod of each
#      service of each release is deleted, then each release is upgraded to another image tag; nothing
#      may be lost. `helm test` runs once more on each release afterwards;
#   8. deletes the cluster (KEEP_CLUSTER=1 keeps it for debugging).
# Needs, with Docker: docker, kind, kubectl, helm, node, curl; with podman: go, node, curl (and apt, when
# podman is missing). Variables: CLUSTER_NAME, KEEP_CLUSTER, E2E_COMMAND, DISRUPTION_COMMAND,
# PROVIDERS, INGRESS_NGINX_VERSION, LOCAL_PORT, HOSTILE_PORT, HOST_ADDRESS, KIND_CPU_REQUEST (each
# service pod's CPU request, default 25m), MIMI_KIND_ENGINE (docker or podman; default docker when a
# Docker engine answers), MIMI_KIND_CACHE.
# `kind-e2e.sh --prepare` builds what the run needs (binaries, node image and every image) and stops
# before step 1.
#
# Without a Docker engine (MIMI_KIND_ENGINE=podman) nothing comes from an image registry: podman and
# debootstrap are installed from Debian when missing (scripts/kind/install-podman.sh); the node image is
# assembled from Kubernetes, etcd, CoreDNS and kind built from the Go module proxy (scripts/kind/
# node-image.sh; the first run on a machine builds for 20-30 minutes, later runs reuse
# ~/.cache/mimi-kind); Node 24 comes from the npm registry and PostgreSQL, Redis and Kafka from Debian
# and Maven Central, and the ingress controller is Traefik, built from its Go module
# (dependency-images.sh); images go into the cluster as one archive.
#
# Note: all providers share one Kafka; topic names are fixed by the services, so each provider's
# messages would be seen by the others' consumers. Each release therefore gets its own Kafka broker
# (kafka-<p>), which keeps the setup honest about what a real provider has.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
# --prepare (see above): CI runs it beside its tests; a later run only creates the cluster and tests.
prepare_only=0
case "${1:-}" in
  --prepare) prepare_only=1 ;;
  "") ;;
  *) echo "usage: $0 [--prepare]" >&2; exit 2 ;;
esac

cluster="${CLUSTER_NAME:-mimi-e2e}"
ingress_nginx_version="${INGRESS_NGINX_VERSION:-controller-v1.13.3}"
local_port="${LOCAL_PORT:-18080}"
# Where the suite's hostile provider listens on this machine; the releases may send to this port.
hostile_port="${HOSTILE_PORT:-$((local_port + 1))}"
# Fifteen service pods share one node: the chart's production CPU requests (100-200m each) would not fit
# on a 2-core machine next to the control plane.
cpu_request="${KIND_CPU_REQUEST:-25m}"
# The disruption test runs on its own, afterwards: the suite's tests wait seconds, not minutes, for a
# delivery, and would fail while pods restart.
e2e_command="${E2E_COMMAND:-npx -y pnpm@12.4.2 --filter @mimi/standalone exec vitest run test/e2e}"
disruption_command="${DISRUPTION_COMMAND:-npx -y pnpm@12.4.2 --filter @mimi/standalone exec vitest run test/disruption}"
read -r -a providers <<<"${PROVIDERS:-a b c}"
image_repository="mimi.local/mimi"
image_tag="e2e"
# The same images under another tag: the disruption test's `helm upgrade` rolls every Deployment to it.
next_image_tag="e2e-next"
services=(identity keypackage-directory channel-sequencer inbox-ingest delivery-fanout)

log() { echo "kind-e2e: $*" >&2; }
need() { command -v "$1" >/dev/null || { log "$1 is required"; exit 1; }; }
engine="${MIMI_KIND_ENGINE:-}"
if [[ -z "$engine" ]]; then
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then engine=docker; else engine=podman; fi
fi
postgres_image="postgres:17"
redis_image="redis:7"
kafka_image="apache/kafka:4.1.1"
case "$engine" in
  docker)
    for tool in docker kind kubectl helm node curl; do need "$tool"; done
    ;;
  podman)
    for tool in go node curl; do need "$tool"; done
    bash scripts/kind/install-podman.sh
    source scripts/kind/podman-env.sh
    # Each piece is built once, in dependency order; each step keeps what an earlier run built
    # (~/.cache/mimi-kind and the local images). The base images come from debootstrap and npm, bound
    # by the network, and are built beside the Go builds, which are bound by the CPU.
    bash scripts/kind/base-images.sh >/dev/null &
    base_images=$!
    kubernetes_bin="$(bash scripts/kind/build-kubernetes.sh)"
    tools_bin="$(bash scripts/kind/build-tools.sh)"
    wait "$base_images"
    node_image="$(bash scripts/kind/node-image.sh "$kubernetes_bin" "$tools_bin")"
    bash scripts/kind/dependency-images.sh "$tools_bin"
    PATH="$tools_bin:$kubernetes_bin:$(bash scripts/k8s-tools):$PATH"
    postgres_image="localhost/mimi-kind/postgres:local"
    redis_image="localhost/mimi-kind/redis:local"
    kafka_image="localhost/mimi-kind/kafka:local"
    # kind's podman provider mounts the host's kernel modules, which a small VM may not have.
    [[ -d /lib/modules ]] || mkdir -p /lib/modules
    ;;
  *)
    log "MIMI_KIND_ENGINE must be docker or podman, not $engine"
    exit 1
    ;;
esac

# ---- 3a. the service images (built before the cluster exists; loaded in 3b) ----
for service in "${services[@]}"; do
  log "building image $image_repository-$service:$image_tag"
  if [[ "$engine" == podman ]]; then
    podman build -q -f docker/Dockerfile --build-arg "SERVICE=$service" \
      --build-arg "NODE_IMAGE=localhost/mimi-kind/node:24" -t "$image_repository-$service:$image_tag" . >/dev/null
  else
    DOCKER_BUILDKIT=1 docker build -f docker/Dockerfile --build-arg "SERVICE=$service" -t "$image_repository-$service:$image_tag" .
  fi
  "$engine" tag "$image_repository-$service:$image_tag" "$image_repository-$service:$next_image_tag"
done
if [[ "$prepare_only" == 1 ]]; then
  log "prepared: every image and binary the cluster needs is built"
  exit 0
fi

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

# Traefik as the ingress controller (podman path): its image is built here, it watches Ingresses of
# class traefik, and the chart's regex paths get its PathRegexp matcher through an annotation. It
# listens on port 80 itself, without root: NetworkPolicy sees a connection's port after the Service
# has translated it, and the releases' federation egress allows port 80 (and 443, and the hostile
# provider's port). A Service with no ready pod (one deleted, a rollout) answers 503, which clients
# and peers try again, as ingress-nginx does, instead of Traefik's default 404, which they must not.
install_traefik() {
  log "installing Traefik"
  ctl apply -f - <<'YAML'
apiVersion: v1
kind: Namespace
metadata: { name: traefik }
---
apiVersion: v1
kind: ServiceAccount
metadata: { name: traefik, namespace: traefik }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: traefik }
rules:
  - apiGroups: [""]
    resources: [services, secrets, nodes]
    verbs: [get, list, watch]
  - apiGroups: [discovery.k8s.io]
    resources: [endpointslices]
    verbs: [list, watch]
  - apiGroups: [networking.k8s.io]
    resources: [ingresses, ingressclasses]
    verbs: [get, list, watch]
  - apiGroups: [networking.k8s.io]
    resources: [ingresses/status]
    verbs: [update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: traefik }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: traefik }
subjects: [{ kind: ServiceAccount, name: traefik, namespace: traefik }]
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: { name: traefik }
spec: { controller: traefik.io/ingress-controller }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: traefik, namespace: traefik }
spec:
  selector: { matchLabels: { app: traefik } }
  template:
    metadata: { labels: { app: traefik } }
    spec:
      serviceAccountName: traefik
      securityContext:
        sysctls: [{ name: net.ipv4.ip_unprivileged_port_start, value: "0" }]
      containers:
        - name: traefik
          image: localhost/mimi-kind/traefik:local
          args:
            - --entryPoints.web.address=:80
            - --entryPoints.traefik.address=:9000
            - --ping=true
            - --providers.kubernetesingress=true
            - --providers.kubernetesingress.allowemptyservices=true
            - --log.level=WARN
          ports: [{ name: web, containerPort: 80 }]
          readinessProbe: { httpGet: { path: /ping, port: 9000 }, periodSeconds: 2 }
---
apiVersion: v1
kind: Service
metadata: { name: traefik, namespace: traefik }
spec:
  selector: { app: traefik }
  ports: [{ name: web, port: 80, targetPort: web }]
YAML
  ctl -n traefik rollout status deployment/traefik --timeout=180s
}

# ---- 1. cluster and ingress controller ----
if ! kind get clusters 2>/dev/null | grep -qx "$cluster"; then
  log "creating kind cluster $cluster ($engine)"
  if [[ "$engine" == podman ]]; then
    kind create cluster --name "$cluster" --image "$node_image" --config scripts/kind/cluster.yaml --wait 240s
  else
    kind create cluster --name "$cluster" --wait 120s
  fi
fi
if [[ "$engine" == podman ]]; then
  # Pods get the podman network's resolvers, one of them an IPv6 address that does not answer: CoreDNS
  # forwarding names it does not own there makes every lookup slow. Cluster names are all it needs
  # (the providers reach each other through MIMI_DEV_CONNECT_TO).
  ctl -n kube-system get configmap coredns -o jsonpath='{.data.Corefile}' |
    sed '/forward \. \/etc\/resolv.conf/,/}/d' >"${TMPDIR:-/tmp}/mimi-kind-Corefile"
  ctl -n kube-system create configmap coredns --from-file=Corefile="${TMPDIR:-/tmp}/mimi-kind-Corefile" \
    --dry-run=client -o yaml | ctl apply -f -
  ctl -n kube-system rollout restart deployment/coredns
  ctl -n kube-system rollout status deployment/coredns --timeout=180s
  ingress_address="traefik.traefik.svc.cluster.local:80"
  ingress_service=(-n traefik service/traefik)
  ingress_values=(--set ingress.className=traefik --set ingress.nginxAnnotations=false
    --set-string 'ingress.annotations.traefik\.ingress\.kubernetes\.io/router\.pathmatcher=PathRegexp'
    --set-string 'networkPolicy.ingressControllerNamespaceSelector.matchLabels.kubernetes\.io/metadata\.name=traefik')
else
  log "installing ingress-nginx $ingress_nginx_version"
  ctl apply -f "https://raw.githubusercontent.com/kubernetes/ingress-nginx/$ingress_nginx_version/deploy/static/provider/kind/deploy.yaml"
  # Regex paths are used as the chart documents; the kind manifest runs the controller on the control-plane node.
  ctl -n ingress-nginx rollout status deployment/ingress-nginx-controller --timeout=180s
  ingress_address="ingress-nginx-controller.ingress-nginx.svc.cluster.local:80"
  ingress_service=(-n ingress-nginx service/ingress-nginx-controller)
  ingress_values=()
fi

# ---- 3b. images loaded into the cluster before anything uses them ----
if [[ "$engine" == podman ]]; then
  archive="$(mktemp "${TMPDIR:-/tmp}/mimi-kind-images.XXXXXX.tar")"
  rm -f "$archive"
  images=("$postgres_image" "$redis_image" "$kafka_image" localhost/mimi-kind/traefik:local
    localhost/mimi-kind/kube-router:local)
  for service in "${services[@]}"; do
    images+=("$image_repository-$service:$image_tag" "$image_repository-$service:$next_image_tag")
  done
  # One archive: the images share their base layers.
  podman save -q -m -o "$archive" "${images[@]}"
  kind load image-archive "$archive" --name "$cluster"
  rm -f "$archive"
  # The bridge CNI has no policy engine of its own: kube-router enforces the releases' NetworkPolicies.
  log "installing kube-router (NetworkPolicy)"
  ctl apply -f scripts/kind/kube-router.yaml
  ctl -n kube-system rollout status daemonset/kube-router --timeout=180s
  install_traefik
else
  for service in "${services[@]}"; do
    kind load docker-image --name "$cluster" "$image_repository-$service:$image_tag" "$image_repository-$service:$next_image_tag"
  done
fi

# ---- 2. PostgreSQL, Redis, Kafka ----
# A kept cluster is reused with fresh state: the suite signs up the same users on every run. The data
# services keep nothing on a volume, so deleting their namespace empties them.
for provider in "${providers[@]}"; do
  if helm --kube-context "kind-$cluster" status "mimi-$provider" --namespace "mimi-$provider" >/dev/null 2>&1; then
    log "uninstalling release $provider of an earlier run"
    helm --kube-context "kind-$cluster" uninstall "mimi-$provider" --namespace "mimi-$provider" --wait >/dev/null
  fi
done
if ctl get namespace data >/dev/null 2>&1; then
  log "deleting the data of an earlier run"
  ctl delete namespace data --wait=true >/dev/null
fi
log "installing PostgreSQL, Redis and Kafka (namespace data)"
ctl create namespace data --dry-run=client -o yaml | ctl apply -f -
ctl -n data apply -f - <<YAML
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
          image: $postgres_image
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
          image: $redis_image
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
          image: $kafka_image
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

# ---- 4. the providers ----
# Every client of the suite signs up from one address, the port-forward's: a release's production
# limit (20 an hour) would refuse the suite's later users.
signup_limit="200/3600"
# The pods reach this machine at the gateway of the cluster's container network.
if [[ -z "${HOST_ADDRESS:-}" ]]; then
  if [[ "$engine" == podman ]]; then
    HOST_ADDRESS="$(podman network inspect kind --format '{{range .Subnets}}{{.Gateway}} {{end}}' | tr ' ' '\n' | grep -m1 -E '^[0-9]+\.')"
  else
    HOST_ADDRESS="$(docker network inspect kind -f '{{range .IPAM.Config}}{{.Gateway}} {{end}}' | tr ' ' '\n' | grep -m1 -E '^[0-9]+\.')"
  fi
fi
connect_to="evil.test=$HOST_ADDRESS:$hostile_port"
for provider in "${providers[@]}"; do connect_to+=",$provider.test=$ingress_address"; done
for provider in "${providers[@]}"; do
  namespace="mimi-$provider"
  ctl create namespace "$namespace" --dry-run=client -o yaml | ctl apply -f -
  # Secrets exist before the release, as in production; the chart only names them. An existing one is
  # kept: the database's actor keys are sealed with its key-encryption key.
  if ! ctl -n "$namespace" get secret mimi-secrets >/dev/null 2>&1; then
    ctl -n "$namespace" create secret generic mimi-secrets \
      --from-literal=MIMI_KEY_ENCRYPTION_KEY="$(node -e 'console.log(require("crypto").randomBytes(32).toString("base64"))')" \
      --from-literal=DATABASE_URL="postgres://mimi:mimi@postgres.data.svc.cluster.local:5432/mimi_$provider" \
      --from-literal=REDIS_URL="redis://redis.data.svc.cluster.local:6379"
  fi
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
    --set-string "services.identity.env.MIMI_SIGNUP_LIMIT_PER_ADDRESS=$signup_limit" \
    --set serviceDefaults.autoscaling.enabled=false \
    --set serviceDefaults.replicaCount=1 \
    --set "serviceDefaults.resources.requests.cpu=$cpu_request" \
    --set "services.delivery-fanout.resources.requests.cpu=$cpu_request" \
    --set serviceDefaults.topologySpread.enabled=false \
    --set "networkPolicy.egress.federationPorts={80,443,$hostile_port}" \
    "${ingress_values[@]}" \
    --set-string "devConnectTo=${connect_to//,/\\,}"
  helm --kube-context "kind-$cluster" test "mimi-$provider" --namespace "$namespace" --logs
done

# ---- 5. NetworkPolicy: who may reach a release's services ----
# Each probe is a pod running the identity image's node, asking the first release's identity Service
# for its discovery document. A pod of the release gets it; a pod in another namespace does not, not
# even with the release's labels (the chart's policies admit its own pods by label within its
# namespace, and the ingress controller's namespace).
# A policy engine admits a new pod's connections a moment after the pod starts (kube-router: about a
# second), so a probe tries for 15 s before it reports that it could not connect.
probe_js='const deadline = Date.now() + 15_000;
(async () => {
  for (;;) {
    try {
      const response = await fetch(process.argv[1], { signal: AbortSignal.timeout(3_000) });
      return console.log(`reached ${response.status}`);
    } catch (error) {
      if (Date.now() > deadline) return console.log(`not reached: ${error.cause?.code ?? error.name}`);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
})();'
probe() { # namespace labels expected-outcome-prefix
  local namespace="$1" labels="$2" expected="$3" pod outcome phase
  pod="policy-probe-$RANDOM"
  ctl -n "$namespace" run "$pod" --restart=Never --image="$image_repository-identity:$image_tag" \
    --image-pull-policy=Never ${labels:+"--labels=$labels"} --command -- \
    node -e "$probe_js" "http://mimi-${providers[0]}-identity.mimi-${providers[0]}.svc.cluster.local/.well-known/mimi-configuration" >/dev/null
  for _ in $(seq 1 90); do
    phase="$(ctl -n "$namespace" get pod "$pod" -o jsonpath='{.status.phase}')"
    [[ "$phase" == Succeeded || "$phase" == Failed ]] && break
    sleep 1
  done
  outcome="$(ctl -n "$namespace" logs "$pod")"
  ctl -n "$namespace" delete pod "$pod" --wait=false >/dev/null
  log "policy probe from $namespace${labels:+ ($labels)}: $outcome"
  [[ "$outcome" == "$expected"* ]] || { log "expected: $expected"; exit 1; }
}
release_labels="app.kubernetes.io/name=mimi,app.kubernetes.io/instance=mimi-${providers[0]}"
probe "mimi-${providers[0]}" "$release_labels" "reached 200"
probe default "" "not reached"
probe data "$release_labels" "not reached"

# ---- 6. end-to-end suite through the ingress controller ----
log "forwarding 127.0.0.1:$local_port to the ingress controller"
ctl port-forward "${ingress_service[@]}" "$local_port:80" >/dev/null 2>&1 &
port_forward_pid=$!
for _ in $(seq 1 60); do
  if curl -fsS -H "Host: ${providers[0]}.test" "http://127.0.0.1:$local_port/.well-known/mimi-configuration" >/dev/null 2>&1; then break; fi
  sleep 1
done
for provider in "${providers[@]}"; do
  curl -fsS -H "Host: $provider.test" "http://127.0.0.1:$local_port/.well-known/mimi-configuration" >/dev/null
done

deployment_for_suite() { # [disrupt-command]
  # shellcheck disable=SC2016 # the single-quoted program is JavaScript; its ${} are template literals
  node -e '
    const [port, hostilePort, hostileAddress, disrupt, ...domains] = process.argv.slice(1);
    const connectTo = domains.map((domain) => `${domain}=127.0.0.1:${port}`).join(",");
    const servers = Object.fromEntries(domains.map((domain) => [domain, `http://${domain}`]));
    const hostile = { hostilePort: Number(hostilePort), hostileAddress };
    console.log(JSON.stringify({ connectTo, servers, ...hostile, ...(disrupt ? { disrupt } : {}) }));
  ' "$local_port" "$hostile_port" "$HOST_ADDRESS" "${1:-}" "${providers[@]/%/.test}"
}

log "running: $e2e_command"
(cd "$root" && MIMI_E2E_DEPLOYMENT="$(deployment_for_suite)" bash -c "$e2e_command")
log "end-to-end suite passed"

# ---- 7. traffic while pods are deleted and releases upgraded ----
disrupt="bash $root/scripts/kind/disrupt.sh kind-$cluster $next_image_tag ${providers[*]}"
log "running: $disruption_command (disrupt: $disrupt)"
(cd "$root" && MIMI_E2E_DEPLOYMENT="$(deployment_for_suite "$disrupt")" bash -c "$disruption_command")
for provider in "${providers[@]}"; do
  helm --kube-context "kind-$cluster" test "mimi-$provider" --namespace "mimi-$provider" --logs
done
log "disruption test passed"
