{{/* The five services, identity first: the migration Job runs them in this order. */}}
{{- define "mimi.serviceNames" -}}
identity keypackage-directory channel-sequencer inbox-ingest delivery-fanout
{{- end -}}

{{- define "mimi.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "mimi.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Name of one service's objects: <fullname>-<service>. Args: dict root name. */}}
{{- define "mimi.componentName" -}}
{{- printf "%s-%s" (include "mimi.fullname" .root | trunc 40 | trimSuffix "-") .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "mimi.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "mimi.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: mimi
{{- end -}}

{{/* Selector labels of one service. Args: dict root name. */}}
{{- define "mimi.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mimi.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{/* Labels of one service's objects. Args: dict root name. */}}
{{- define "mimi.componentLabels" -}}
{{ include "mimi.labels" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{/* Image of one service: <repository>-<service>:<tag>. Args: dict root name. */}}
{{- define "mimi.image" -}}
{{- printf "%s-%s:%s" .root.Values.image.repository .name (default .root.Chart.AppVersion .root.Values.image.tag) -}}
{{- end -}}

{{- define "mimi.publicUrl" -}}
{{- default (printf "https://%s" .Values.domain) .Values.publicUrl | trimSuffix "/" -}}
{{- end -}}

{{/* Host of the public URL without a port: the Ingress host. */}}
{{- define "mimi.publicHost" -}}
{{- $hostAndPort := (urlParse (include "mimi.publicUrl" .)).host -}}
{{- default (regexReplaceAll ":[0-9]+$" $hostAndPort "") .Values.ingress.host -}}
{{- end -}}

{{- define "mimi.databaseSecret" -}}
{{- default .Values.existingSecret .Values.postgresql.existingSecret -}}
{{- end -}}

{{- define "mimi.redisSecret" -}}
{{- default .Values.existingSecret .Values.redis.existingSecret -}}
{{- end -}}

{{/*
Deep merge for settings: values of `override` win, maps merge key by key. Unlike sprig's merge
functions, an explicit false or 0 in the override is kept. Args: list base override. Returns YAML.
*/}}
{{- define "mimi.merge" -}}
{{- $out := deepCopy (index . 0) -}}
{{- range $key, $value := (index . 1) -}}
{{- if and (kindIs "map" $value) (kindIs "map" (index $out $key)) -}}
{{- $_ := set $out $key (include "mimi.merge" (list (index $out $key) $value) | fromYaml) -}}
{{- else -}}
{{- $_ := set $out $key $value -}}
{{- end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/* One service's settings: serviceDefaults merged with services.<name>. Args: dict root name. Returns YAML. */}}
{{- define "mimi.settings" -}}
{{- include "mimi.merge" (list .root.Values.serviceDefaults (index .root.Values.services .name | default dict)) -}}
{{- end -}}

{{/* Stops rendering with a clear message when a required value is missing or values contradict. */}}
{{- define "mimi.validate" -}}
{{- if not .Values.domain -}}
{{- fail "domain is required: the provider's domain, users are acct:<user>@<domain>" -}}
{{- end -}}
{{- if not .Values.existingSecret -}}
{{- fail "existingSecret is required: an existing Secret holding MIMI_KEY_ENCRYPTION_KEY (and DATABASE_URL, REDIS_URL unless postgresql/redis name their own Secrets)" -}}
{{- end -}}
{{- if not .Values.kafka.brokers -}}
{{- fail "kafka.brokers is required: the services exchange activities through Kafka" -}}
{{- end -}}
{{- if and (eq .Values.environment "production") (not (hasPrefix "https://" (include "mimi.publicUrl" .))) -}}
{{- fail "publicUrl must be an https URL when environment is production" -}}
{{- end -}}
{{- if and (eq .Values.environment "production") .Values.devConnectTo -}}
{{- fail "devConnectTo is a development-only setting and must be empty when environment is production" -}}
{{- end -}}
{{- if not .Values.redis.enabled -}}
{{- $kpd := include "mimi.settings" (dict "root" . "name" "keypackage-directory") | fromYaml -}}
{{- if or $kpd.autoscaling.enabled (gt ($kpd.replicaCount | int) 1) -}}
{{- fail "keypackage-directory keeps claim state in memory without Redis: set redis.enabled=true, or services.keypackage-directory.replicaCount=1 and autoscaling.enabled=false" -}}
{{- end -}}
{{- end -}}
{{- if and .Values.ingress.enabled (not .Values.ingress.regexPaths) -}}
{{- fail "ingress.regexPaths=false cannot route /users/<name>/inbox, /users/<name>/keyPackages and /channels/<id>/inbox: standard Ingress paths have no wildcard segment. Use a controller with regex paths, or disable the chart's Ingress and route with your own gateway (README.md lists the routes)" -}}
{{- end -}}
{{- end -}}

{{/* Environment of one service's container. Args: dict root name settings. */}}
{{- define "mimi.env" -}}
{{- $root := .root -}}
{{- $name := .name -}}
- name: MIMI_ENV
  value: {{ $root.Values.environment | quote }}
- name: MIMI_DOMAIN
  value: {{ $root.Values.domain | quote }}
- name: MIMI_PUBLIC_URL
  value: {{ include "mimi.publicUrl" $root | quote }}
- name: PORT
  value: "8080"
- name: LOG_LEVEL
  value: {{ $root.Values.logLevel | quote }}
- name: MIMI_DATA_DIR
  value: /tmp/mimi-data
{{- if $root.Values.devConnectTo }}
- name: MIMI_DEV_CONNECT_TO
  value: {{ $root.Values.devConnectTo | quote }}
{{- end }}
- name: MIMI_KEY_ENCRYPTION_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $root.Values.existingSecret | quote }}
      key: {{ $root.Values.keyEncryptionKey.secretKey | quote }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "mimi.databaseSecret" $root | quote }}
      key: {{ $root.Values.postgresql.secretKey | quote }}
{{- if has $name (list "channel-sequencer" "inbox-ingest" "delivery-fanout") }}
- name: KAFKA_BROKERS
  value: {{ join "," $root.Values.kafka.brokers | quote }}
{{- end }}
{{- if and (has $name (list "identity" "keypackage-directory" "inbox-ingest")) $root.Values.redis.enabled }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "mimi.redisSecret" $root | quote }}
      key: {{ $root.Values.redis.secretKey | quote }}
{{- end }}
{{- if eq $name "identity" }}
- name: MIMI_OPEN_REGISTRATIONS
  value: {{ $root.Values.openRegistrations | quote }}
{{- with $root.Values.blockedDomains }}
- name: MIMI_BLOCKED_DOMAINS
  value: {{ join "," . | quote }}
{{- end }}
{{- with $root.Values.adminUsers }}
- name: MIMI_ADMIN_USERS
  value: {{ join "," . | quote }}
{{- end }}
{{- end }}
{{- if not (kindIs "invalid" $root.Values.trustProxy) }}
- name: MIMI_TRUST_PROXY
  value: {{ $root.Values.trustProxy | toString | quote }}
{{- end }}
{{- $limitVariables := include "mimi.limitVariables" . | fromYaml }}
{{- range $key, $value := (index $root.Values.limits $name | default dict) }}
{{- if not (kindIs "invalid" $value) }}
- name: {{ required (printf "limits.%s.%s is not a known limit" $name $key) (index $limitVariables $name | default dict | dig $key "" ) }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end }}
{{- range $key, $value := .settings.env }}
- name: {{ $key }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}

{{/* The variable behind each `limits.<service>.<key>` value. */}}
{{- define "mimi.limitVariables" -}}
identity:
  sessionIdleDays: MIMI_SESSION_IDLE_DAYS
  loginPerAccount: MIMI_LOGIN_LIMIT_PER_ACCOUNT
  loginPerAddress: MIMI_LOGIN_LIMIT_PER_ADDRESS
  signupPerAddress: MIMI_SIGNUP_LIMIT_PER_ADDRESS
  passwordHashConcurrency: MIMI_PASSWORD_HASH_CONCURRENCY
  reservedUsernames: MIMI_RESERVED_USERNAMES
  userBlocksMax: MIMI_USER_BLOCKS_MAX
  deletedNameQuarantineDays: MIMI_DELETED_NAME_QUARANTINE_DAYS
inbox-ingest:
  bodyLimit: MIMI_INBOX_BODY_LIMIT
  inboxPerOrigin: MIMI_INBOX_LIMIT_PER_ORIGIN
  inboxPerAddress: MIMI_INBOX_LIMIT_PER_ADDRESS
  outboxPerUser: MIMI_OUTBOX_LIMIT_PER_USER
  maxAddresses: MIMI_INBOX_MAX_ADDRESSES
  maxRecipients: MIMI_INBOX_MAX_RECIPIENTS
  maxCopyBytes: MIMI_INBOX_MAX_COPY_BYTES
  dmMaxParticipants: MIMI_DM_MAX_PARTICIPANTS
  dmEpochWindow: MIMI_DM_EPOCH_WINDOW
  dmGroupCacheEntries: MIMI_DM_GROUP_CACHE_ENTRIES
  dmGroupCacheTtlSeconds: MIMI_DM_GROUP_CACHE_TTL_SECONDS
  dmGroupCacheMaxStaleSeconds: MIMI_DM_GROUP_CACHE_MAX_STALE_SECONDS
  schemeMemoryOrigins: MIMI_INBOX_SCHEME_MEMORY_ORIGINS
  schemeMemoryTtlMs: MIMI_INBOX_SCHEME_MEMORY_TTL_MS
keypackage-directory:
  claimsPerPair: MIMI_KEYPACKAGE_CLAIM_LIMIT_PER_PAIR
  claimsPerOrigin: MIMI_KEYPACKAGE_CLAIM_LIMIT_PER_ORIGIN
  claimsPerOriginTarget: MIMI_KEYPACKAGE_CLAIM_LIMIT_PER_ORIGIN_TARGET
  claimsPerUser: MIMI_KEYPACKAGE_CLAIM_LIMIT_PER_USER
  lastResort: MIMI_KEYPACKAGE_LAST_RESORT_LIMIT
  lowWatermark: MIMI_KEYPACKAGE_LOW_WATERMARK
  maxPerClient: MIMI_KEYPACKAGE_MAX_PER_CLIENT
  invitesPerUser: MIMI_KEYPACKAGE_INVITES_PER_USER
  invitesPerRequester: MIMI_KEYPACKAGE_INVITES_PER_REQUESTER
  schemeMemoryOrigins: MIMI_KEYPACKAGE_SCHEME_MEMORY_ORIGINS
  schemeMemoryTtlMs: MIMI_KEYPACKAGE_SCHEME_MEMORY_TTL_MS
delivery-fanout:
  mailboxMaxItems: MIMI_MAILBOX_MAX_ITEMS
  mailboxMaxBytes: MIMI_MAILBOX_MAX_BYTES
  mailboxRetentionDays: MIMI_MAILBOX_RETENTION_DAYS
  streamsPerUser: MIMI_MAILBOX_STREAMS_PER_USER
  streamIdleMs: MIMI_MAILBOX_STREAM_IDLE_MS
  streamStallMs: MIMI_MAILBOX_STREAM_STALL_MS
  collectionMaxFetches: MIMI_DELIVERY_COLLECTION_MAX_FETCHES
  schemeMemoryOrigins: MIMI_DELIVERY_SCHEME_MEMORY_ORIGINS
  schemeMemoryTtlMs: MIMI_DELIVERY_SCHEME_MEMORY_TTL_MS
channel-sequencer:
  maxMessageBytes: MIMI_CHANNEL_MAX_MESSAGE_BYTES
  messagesPerMinute: MIMI_CHANNEL_MESSAGES_PER_MINUTE
  messageBurst: MIMI_CHANNEL_MESSAGE_BURST
  dmMaxParticipants: MIMI_CHANNEL_DM_MAX_PARTICIPANTS
  schemeMemoryOrigins: MIMI_CHANNEL_SCHEME_MEMORY_ORIGINS
  schemeMemoryTtlMs: MIMI_CHANNEL_SCHEME_MEMORY_TTL_MS
{{- end -}}
