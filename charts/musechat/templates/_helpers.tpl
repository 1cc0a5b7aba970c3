{{/* Names, labels, images and the endpoints every component shares. */}}

{{- define "musechat.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "musechat.fullname" -}}
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

{{/* The values keys of the components, in a fixed order (one block of the same shape each). */}}
{{- define "musechat.componentKeys" -}}
gateway textEncoder videoEncoder musicEncoder fusionRanker explainer catalogWorker indexer videoWorker datasetWriter
{{- end -}}

{{/* (list $ "textEncoder") -> "text-encoder" */}}
{{- define "musechat.componentName" -}}
{{- index . 1 | kebabcase -}}
{{- end -}}

{{/* (list $ "text-encoder") -> "<fullname>-text-encoder" */}}
{{- define "musechat.resourceName" -}}
{{- $root := index . 0 -}}
{{- printf "%s-%s" (include "musechat.fullname" $root) (index . 1) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "musechat.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ include "musechat.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "musechat.labels" -}}
{{- $root := index . 0 -}}
{{ include "musechat.selectorLabels" . }}
app.kubernetes.io/part-of: musechat
app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" $root.Chart.Name $root.Chart.Version | replace "+" "_" }}
{{- end -}}

{{/*
(list $ imageBlock) -> registry/repository:tag[@digest]; repositories with a registry host stay as they
are. With `digest` set the runtime pulls exactly that image (the tag only documents it).
*/}}
{{- define "musechat.image" -}}
{{- $root := index . 0 -}}
{{- $img := index . 1 -}}
{{- $tag := $img.tag | default $root.Values.image.tag | default $root.Chart.AppVersion -}}
{{- $ref := printf "%s:%s" $img.repository $tag -}}
{{- if and $root.Values.image.registry (not (contains "/" $img.repository)) -}}
{{- $ref = printf "%s/%s:%s" $root.Values.image.registry $img.repository $tag -}}
{{- end -}}
{{- if $img.digest -}}
{{- $ref = printf "%s@%s" $ref $img.digest -}}
{{- end -}}
{{- $ref -}}
{{- end -}}

{{/* (list repository tag digest) -> an upstream image reference (vLLM, Qdrant, the adapters image). */}}
{{- define "musechat.upstreamImage" -}}
{{- $ref := printf "%s:%s" (index . 0) (index . 1) -}}
{{- if index . 2 }}{{ $ref = printf "%s@%s" $ref (index . 2) }}{{ end -}}
{{- $ref -}}
{{- end -}}

{{- define "musechat.secretName" -}}
{{- .Values.existingSecret | default (include "musechat.resourceName" (list . "secrets")) -}}
{{- end -}}

{{- define "musechat.apiKeysSecretName" -}}
{{- .Values.apiKeys.existingSecret | default (include "musechat.resourceName" (list . "api-keys")) -}}
{{- end -}}

{{- define "musechat.kafkaBootstrap" -}}
{{- if eq .Values.kafka.mode "strimzi" -}}
{{- printf "%s-kafka-bootstrap:%s" (include "musechat.resourceName" (list . "kafka")) (ternary "9093" "9092" .Values.kafka.strimzi.auth) -}}
{{- else -}}
{{- .Values.kafka.external.bootstrapServers -}}
{{- end -}}
{{- end -}}

{{- define "musechat.qdrantUrl" -}}
{{- if eq .Values.qdrant.mode "inChart" -}}
{{- printf "http://%s:6333" (include "musechat.resourceName" (list . "qdrant")) -}}
{{- else -}}
{{- .Values.qdrant.external.url -}}
{{- end -}}
{{- end -}}

{{/*
How store clients create collections (qdrant.collections) as MUSECHAT_STORE_* env, JSON. The replication
factor defaults to 2 when the in-chart Qdrant runs >= 3 replicas: one copy per shard would take a third
of the catalog offline during a rolling restart.
*/}}
{{- define "musechat.storeLayoutEnv" -}}
{{- $q := .Values.qdrant -}}
{{- $c := $q.collections | default dict -}}
{{- $env := dict -}}
{{- $rf := $c.replicationFactor -}}
{{- if and (not $rf) (eq $q.mode "inChart") (ge (int $q.replicas) 3) }}{{ $rf = 2 }}{{ end -}}
{{- with $c.shardNumber }}{{ $_ := set $env "MUSECHAT_STORE_SHARD_NUMBER" (toString (int .)) }}{{ end -}}
{{- with $rf }}{{ $_ := set $env "MUSECHAT_STORE_REPLICATION_FACTOR" (toString (int .)) }}{{ end -}}
{{- with $c.writeConsistencyFactor }}{{ $_ := set $env "MUSECHAT_STORE_WRITE_CONSISTENCY_FACTOR" (toString (int .)) }}{{ end -}}
{{- if hasKey $c "onDisk" }}{{ $_ := set $env "MUSECHAT_STORE_ON_DISK" (toString $c.onDisk) }}{{ end -}}
{{- if hasKey $c "onDiskPayload" }}{{ $_ := set $env "MUSECHAT_STORE_ON_DISK_PAYLOAD" (toString $c.onDiskPayload) }}{{ end -}}
{{- toJson $env -}}
{{- end -}}

{{/* host:port of every component's Service, for `{{ .svc.<key> }}` in env values. */}}
{{- define "musechat.serviceHosts" -}}
{{- $root := . -}}
{{- $hosts := dict -}}
{{- range $key := splitList " " (include "musechat.componentKeys" $root) -}}
{{- $c := index $root.Values $key -}}
{{- $_ := set $hosts $key (printf "%s:%v" (include "musechat.resourceName" (list $root (kebabcase $key))) $c.port) -}}
{{- end -}}
{{- $_ := set $hosts "vllm" (printf "%s:%v" (include "musechat.resourceName" (list $root "vllm")) $root.Values.vllm.port) -}}
{{- $_ := set $hosts "qdrant" (printf "%s:6333" (include "musechat.resourceName" (list $root "qdrant"))) -}}
{{- toJson $hosts -}}
{{- end -}}

{{/*
The environment of one component: the shared groups it lists, then its own env (templated).
(list $ componentBlock) -> a YAML map ENV: "value".
*/}}
{{- define "musechat.componentEnv" -}}
{{- $root := index . 0 -}}
{{- $c := index . 1 -}}
{{- $user := index . 2 -}}
{{- $env := dict -}}
{{- range $group := $c.config -}}
{{- if eq $group "bus" -}}
{{- $env = merge $env (dict "MUSECHAT_BUS_BOOTSTRAP_SERVERS" (include "musechat.kafkaBootstrap" $root)) $root.Values.sharedConfig.bus -}}
{{- if include "musechat.kafkaAuth" $root -}}
{{- $env = merge $env (dict "MUSECHAT_BUS_SECURITY_PROTOCOL" "SASL_SSL" "MUSECHAT_BUS_SASL_MECHANISM" "SCRAM-SHA-512" "MUSECHAT_BUS_SASL_USERNAME" (include "musechat.resourceName" (list $root $user)) "MUSECHAT_BUS_SASL_PASSWORD_FILE" "/etc/kafka-user/password" "MUSECHAT_BUS_SSL_CAFILE" "/etc/kafka-ca/ca.crt") -}}
{{- end -}}
{{- else if eq $group "store" -}}
{{- $env = merge $env (dict "MUSECHAT_STORE_URL" (include "musechat.qdrantUrl" $root)) $root.Values.sharedConfig.store (include "musechat.storeLayoutEnv" $root | fromJson) -}}
{{- else if eq $group "vllm" -}}
{{- /* One base LLM: vLLM serves it when enabled, else the explainer loads it in-process; either way the
explainer tokenizes with (and reads the embedding rows of) exactly the model vLLM serves. */ -}}
{{- $_ := set $env "MUSECHAT_EXPLAINER_BASE_MODEL" $root.Values.vllm.model -}}
{{- if $root.Values.vllm.enabled -}}
{{- $v := $root.Values.vllm -}}
{{- $adapters := dict -}}
{{- range $v.adapters }}{{ $_ := set $adapters .name .path }}{{ end -}}
{{- $env = merge $env (dict "MUSECHAT_EXPLAINER_VLLM_URL" (printf "http://%s-vllm:%v" (include "musechat.fullname" $root) $v.port) "MUSECHAT_EXPLAINER_VLLM_REPLICAS_HOST" (printf "%s-vllm-headless" (include "musechat.fullname" $root)) "MUSECHAT_EXPLAINER_SERVED_MODEL_NAME" $v.servedModelName "MUSECHAT_EXPLAINER_ADAPTERS" (toJson $adapters)) -}}
{{- with $v.adapters }}{{ $_ := set $env "MUSECHAT_EXPLAINER_DEFAULT_ADAPTER" (first .).name }}{{ end -}}
{{- end -}}
{{- else -}}
{{- fail (printf "unknown shared config group %q (known: bus, store, vllm)" $group) -}}
{{- end -}}
{{- end -}}
{{- $ctx := dict "svc" (include "musechat.serviceHosts" $root | fromJson) "fullname" (include "musechat.fullname" $root) "Values" $root.Values "Release" $root.Release "Chart" $root.Chart "Template" $root.Template -}}
{{- range $k, $v := $c.env -}}
{{- $_ := set $env $k (tpl (toString $v) $ctx) -}}
{{- end -}}
{{- toYaml $env -}}
{{- end -}}

{{/* Env entries read from Secrets: the chart's own secrets plus the component's secretEnv. */}}
{{/* "true" when the chart's Strimzi cluster takes only TLS + SCRAM-SHA-512 clients (KafkaUsers). */}}
{{- define "musechat.kafkaAuth" -}}
{{- if and (eq .Values.kafka.mode "strimzi") .Values.kafka.strimzi.auth -}}true{{- end -}}
{{- end -}}

{{/*
The KafkaUser's password and the cluster CA, mounted as files for a workload that uses the bus.
(list $ config user) -> volume mounts; musechat.kafkaAuthVolumes takes the same list.
*/}}
{{- define "musechat.kafkaAuthMounts" -}}
{{- if and (include "musechat.kafkaAuth" (index . 0)) (has "bus" (index . 1)) }}
- name: kafka-user
  mountPath: /etc/kafka-user
  readOnly: true
- name: kafka-ca
  mountPath: /etc/kafka-ca
  readOnly: true
{{- end }}
{{- end -}}

{{- define "musechat.kafkaAuthVolumes" -}}
{{- $root := index . 0 -}}
{{- if and (include "musechat.kafkaAuth" $root) (has "bus" (index . 1)) }}
- name: kafka-user
  secret:
    secretName: {{ include "musechat.resourceName" (list $root (index . 2)) }}
    items: [{key: password, path: password}]
- name: kafka-ca
  secret:
    secretName: {{ include "musechat.resourceName" (list $root "kafka") }}-cluster-ca-cert
    items: [{key: ca.crt, path: ca.crt}]
{{- end }}
{{- end -}}

{{- define "musechat.secretEnv" -}}
{{- $root := index . 0 -}}
{{- $c := index . 1 -}}
{{- range $name, $ref := $c.secretEnv }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ $ref.secret | default (include "musechat.secretName" $root) }}
      key: {{ $ref.key }}
{{- end }}
{{- if and (has "store" $c.config) (or (and (eq $root.Values.qdrant.mode "inChart") $root.Values.qdrant.apiKey.enabled) (and (eq $root.Values.qdrant.mode "external") $root.Values.qdrant.external.apiKeySecret.name)) }}
- name: MUSECHAT_STORE_API_KEY
  valueFrom:
    secretKeyRef:
      {{- if eq $root.Values.qdrant.mode "inChart" }}
      name: {{ include "musechat.secretName" $root }}
      key: qdrant-api-key
      {{- else }}
      name: {{ $root.Values.qdrant.external.apiKeySecret.name }}
      key: {{ $root.Values.qdrant.external.apiKeySecret.key }}
      {{- end }}
{{- end }}
{{- end -}}

{{/*
Volumes and mounts for the shared volumes a workload lists; /tmp is always a scratch dir. An entry is a
name from sharedVolumes, optionally with ":rw" or ":ro" overriding the volume's readOnly for this workload
(the trainer writes the model registry the ranker only reads). A volume is the chart's own claim when
`create` is on, an existing claim when `claimName` is set, else a per-pod emptyDir.
*/}}
{{- define "musechat.volumeClaim" -}}
{{- $root := index . 0 -}}
{{- $name := index . 1 -}}
{{- $v := index $root.Values.sharedVolumes $name -}}
{{- if $v.claimName -}}
{{- $v.claimName -}}
{{- else if $v.create -}}
{{- include "musechat.resourceName" (list $root $name) -}}
{{- end -}}
{{- end -}}

{{- define "musechat.volumeEntry" -}}
{{- $root := index . 0 -}}
{{- $parts := splitList ":" (index . 1) -}}
{{- $name := first $parts -}}
{{- $v := index $root.Values.sharedVolumes $name | required (printf "sharedVolumes.%s is not defined" $name) -}}
{{- $readOnly := $v.readOnly -}}
{{- if gt (len $parts) 1 -}}{{- $readOnly = eq (index $parts 1) "ro" -}}{{- end -}}
{{- dict "name" $name "readOnly" $readOnly "mountPath" $v.mountPath "claim" (include "musechat.volumeClaim" (list $root $name)) | toJson -}}
{{- end -}}

{{- define "musechat.volumes" -}}
{{- $root := index . 0 -}}
{{- $names := index . 1 -}}
- name: tmp
  emptyDir: {}
{{- range $entry := $names }}
{{- $v := include "musechat.volumeEntry" (list $root $entry) | fromJson }}
- name: {{ $v.name }}
  {{- if $v.claim }}
  persistentVolumeClaim:
    claimName: {{ $v.claim }}
    readOnly: {{ $v.readOnly }}
  {{- else }}
  emptyDir: {}
  {{- end }}
{{- end }}
{{- end -}}

{{- define "musechat.volumeMounts" -}}
{{- $root := index . 0 -}}
{{- $names := index . 1 -}}
- name: tmp
  mountPath: /tmp
{{- range $entry := $names }}
{{- $v := include "musechat.volumeEntry" (list $root $entry) | fromJson }}
- name: {{ $v.name }}
  mountPath: {{ $v.mountPath }}
  readOnly: {{ $v.readOnly }}
{{- end }}
{{- end -}}

{{/* Every topic the release uses: the declared ones plus one DLQ per (consumed topic, consumer group). */}}
{{- define "musechat.topics" -}}
{{- $topics := .Values.kafka.topics -}}
{{- range $key := splitList " " (include "musechat.componentKeys" .) -}}
{{- $c := index $.Values $key -}}
{{- if and $c.enabled $c.kafka.group -}}
{{- range $t := $c.kafka.consumes -}}
{{- $topics = append $topics (printf "%s.%s.dlq" $t $c.kafka.group) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $topics | uniq | join " " -}}
{{- end -}}

{{/* Scheduling: the component's own, plus the GPU pool's when it runs on GPUs. */}}
{{- define "musechat.scheduling" -}}
{{- $root := index . 0 -}}
{{- $c := index . 1 -}}
{{- $nodeSelector := $c.nodeSelector | default dict -}}
{{- $tolerations := $c.tolerations | default list -}}
{{- if $c.gpu.enabled -}}
{{- $nodeSelector = merge (deepCopy $nodeSelector) $root.Values.gpuPool.nodeSelector -}}
{{- $tolerations = concat $tolerations $root.Values.gpuPool.tolerations -}}
{{- end -}}
{{- with $nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $c.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Resources, with the GPU limit added when the component runs on GPUs. */}}
{{- define "musechat.resources" -}}
{{- $root := index . 0 -}}
{{- $c := index . 1 -}}
{{- $res := deepCopy ($c.resources | default dict) -}}
{{- if $c.gpu.enabled -}}
{{- $limits := $res.limits | default dict -}}
{{- $_ := set $limits $root.Values.gpuPool.resourceName $c.gpu.count -}}
{{- $_ := set $res "limits" $limits -}}
{{- end -}}
{{- toYaml $res -}}
{{- end -}}

{{/* Environment every MuseChat container gets: writable homes and caches under /tmp (read-only root). */}}
{{- define "musechat.runtimeEnv" -}}
- name: HOME
  value: /tmp
- name: BENTOML_HOME
  value: /tmp/bentoml
- name: HF_HOME
  value: /tmp/huggingface
- name: MPLCONFIGDIR
  value: /tmp/matplotlib
- name: PYTHONDONTWRITEBYTECODE
  value: "1"
- name: PYTHONUNBUFFERED
  value: "1"
{{- end -}}

{{/*
Init container that copies LoRA adapters from vllm.adaptersInitImage into the adapters volume (an
emptyDir then); used by vLLM and the explainer so both see the same files. Empty when no image is set.
*/}}
{{- define "musechat.adaptersInit" -}}
{{- $v := .Values.vllm -}}
{{- if and $v.enabled $v.adaptersInitImage.repository -}}
initContainers:
  - name: copy-adapters
    image: {{ include "musechat.upstreamImage" (list $v.adaptersInitImage.repository ($v.adaptersInitImage.tag | default .Chart.AppVersion) $v.adaptersInitImage.digest) }}
    imagePullPolicy: {{ .Values.image.pullPolicy }}
    command: [cp, -R, {{ printf "%s/." $v.adaptersInitImage.copyFrom }}, {{ .Values.sharedVolumes.adapters.mountPath }}]
    securityContext:
      {{- toYaml .Values.containerSecurityContext | nindent 6 }}
    resources:
      requests: {cpu: 100m, memory: 128Mi}
      limits: {memory: 256Mi}
    volumeMounts:
      - {name: adapters, mountPath: {{ .Values.sharedVolumes.adapters.mountPath }}}
{{- end -}}
{{- end -}}
