#!/usr/bin/env bash
# Writes server.properties from the KAFKA_* environment, formats the storage on first start (with
# CLUSTER_ID, or a fresh one) and runs the broker in the foreground.
set -euo pipefail
config=/opt/kafka/server.properties
data=/var/lib/kafka/data
java_cmd=(java ${KAFKA_HEAP_OPTS:--Xms128m -Xmx512m} -XX:+UseG1GC -XX:MaxGCPauseMillis=20
  -Djava.awt.headless=true -Dlog4j2.configurationFile=/opt/kafka/log4j2.properties -cp '/opt/kafka/libs/*')

{
  echo "log.dirs=$data"
  while IFS='=' read -r name value; do
    case "$name" in
      KAFKA_HEAP_OPTS) continue ;;
      # Kubernetes' service links (KAFKA_<SERVICE>_PORT..., _SERVICE_HOST) are not broker settings.
      *_SERVICE_HOST | *_SERVICE_PORT* | *_PORT | *_PORT_*) continue ;;
    esac
    setting="${name#KAFKA_}"
    setting="${setting,,}"
    echo "${setting//_/.}=$value"
  done < <(env | grep '^KAFKA_' | sort)
} >"$config"

if [[ ! -f "$data/meta.properties" ]]; then
  cluster_id="${CLUSTER_ID:-$("${java_cmd[@]}" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n1)}"
  "${java_cmd[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$config" >/dev/null
fi
exec "${java_cmd[@]}" kafka.Kafka "$config"
