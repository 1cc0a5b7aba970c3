{{/*
The one workload template every component renders through: ConfigMap, Deployment, Service,
HorizontalPodAutoscaler, PodDisruptionBudget and NetworkPolicy from a values block of the shared shape.
Call: include "musechat.workload" (list $ "textEncoder")
*/}}
{{- define "musechat.workload" -}}
{{- $root := index . 0 -}}
{{- $key := index . 1 -}}
{{- $c := index $root.Values $key -}}
{{- $name := kebabcase $key -}}
{{- $full := include "musechat.resourceName" (list $root $name) -}}
{{- $env := include "musechat.componentEnv" (list $root $c $name) -}}
{{- $keda := dig "keda" "enabled" false $c.autoscaling -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ $full }}-env
  labels:
    {{- include "musechat.labels" (list $root $name) | nindent 4 }}
data:
  {{- $env | nindent 2 }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $full }}
  labels:
    {{- include "musechat.labels" (list $root $name) | nindent 4 }}
spec:
  {{- if not (or $c.autoscaling.enabled $keda) }}
  replicas: {{ $c.replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "musechat.selectorLabels" (list $root $name) | nindent 6 }}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      # Surge first: a model-loading replica must be ready before an old one goes (no capacity dip).
      maxSurge: 1
      maxUnavailable: 0
  template:
    metadata:
      labels:
        {{- include "musechat.labels" (list $root $name) | nindent 8 }}
        musechat.io/kind: {{ $c.type }}
      annotations:
        checksum/env: {{ $env | sha256sum }}
        checksum/secrets: {{ include (print $root.Template.BasePath "/secrets.yaml") $root | sha256sum }}
        prometheus.io/scrape: "true"
        prometheus.io/port: {{ $c.metricsPort | quote }}
        prometheus.io/path: {{ $c.metricsPath }}
        {{- with $c.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      automountServiceAccountToken: false
      enableServiceLinks: false
      {{- with $root.Values.image.pullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml $root.Values.podSecurityContext | nindent 8 }}
      {{- with include "musechat.scheduling" (list $root $c) | trim }}
      {{- . | nindent 6 }}
      {{- end }}
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: kubernetes.io/hostname
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels:
              {{- include "musechat.selectorLabels" (list $root $name) | nindent 14 }}
      terminationGracePeriodSeconds: {{ ternary 60 30 (eq $c.type "worker") }}
      {{- if and (has "adapters" $c.volumes) (has "vllm" $c.config) }}
      {{- with include "musechat.adaptersInit" $root | trim }}
      {{- . | nindent 6 }}
      {{- end }}
      {{- end }}
      containers:
        - name: {{ $name }}
          image: {{ include "musechat.image" (list $root $c.image) }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          {{- if eq $c.type "bentoml" }}
          args: [bentoml, serve, {{ $c.bentoService | required (printf "%s.bentoService is required for type bentoml" $key) | quote }}, --working-dir, /app/service, --host, 0.0.0.0, --port, {{ $c.port | quote }}]
          {{- else if eq $c.type "worker" }}
          args: [musechat, worker, {{ $c.workerName | required (printf "%s.workerName is required for type worker" $key) | quote }}, --metrics-port, {{ $c.metricsPort | quote }}]
          {{- else }}
          {{- fail (printf "%s.type must be bentoml or worker, not %q" $key $c.type) }}
          {{- end }}
          ports:
            - name: http
              containerPort: {{ $c.port }}
              protocol: TCP
            {{- if ne (int $c.metricsPort) (int $c.port) }}
            - name: metrics
              containerPort: {{ $c.metricsPort }}
              protocol: TCP
            {{- end }}
          envFrom:
            - configMapRef:
                name: {{ $full }}-env
          env:
            {{- include "musechat.runtimeEnv" $root | nindent 12 }}
            {{- with include "musechat.secretEnv" (list $root $c) | trim }}
            {{- . | nindent 12 }}
            {{- end }}
          {{- with $c.probes.startup }}
          startupProbe:
            httpGet: {path: {{ .path }}, port: http}
            periodSeconds: {{ .periodSeconds }}
            failureThreshold: {{ .failureThreshold }}
          {{- end }}
          {{- with $c.probes.liveness }}
          livenessProbe:
            httpGet: {path: {{ .path }}, port: http}
            periodSeconds: {{ .periodSeconds }}
            failureThreshold: {{ .failureThreshold }}
            timeoutSeconds: 5
          {{- end }}
          {{- with $c.probes.readiness }}
          readinessProbe:
            httpGet: {path: {{ .path }}, port: http}
            periodSeconds: {{ .periodSeconds }}
            failureThreshold: {{ .failureThreshold }}
            timeoutSeconds: 5
          {{- end }}
          resources:
            {{- include "musechat.resources" (list $root $c) | nindent 12 }}
          securityContext:
            {{- toYaml $root.Values.containerSecurityContext | nindent 12 }}
          volumeMounts:
            {{- include "musechat.volumeMounts" (list $root $c.volumes) | nindent 12 }}
            {{- include "musechat.kafkaAuthMounts" (list $root $c.config) | nindent 12 }}
            {{- if eq $key "gateway" }}
            - name: api-keys
              mountPath: /etc/musechat/api-keys
              readOnly: true
            {{- end }}
      volumes:
        {{- include "musechat.volumes" (list $root $c.volumes) | nindent 8 }}
        {{- include "musechat.kafkaAuthVolumes" (list $root $c.config $name) | nindent 8 }}
        {{- if eq $key "gateway" }}
        - name: api-keys
          secret:
            secretName: {{ include "musechat.apiKeysSecretName" $root }}
        {{- end }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $full }}
  labels:
    {{- include "musechat.labels" (list $root $name) | nindent 4 }}
  {{- with $c.service.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  type: {{ $c.service.type }}
  selector:
    {{- include "musechat.selectorLabels" (list $root $name) | nindent 4 }}
  ports:
    - name: http
      port: {{ $c.port }}
      targetPort: http
      protocol: TCP
    {{- if ne (int $c.metricsPort) (int $c.port) }}
    - name: metrics
      port: {{ $c.metricsPort }}
      targetPort: metrics
      protocol: TCP
    {{- end }}
{{- if $keda }}
{{- $k := $c.autoscaling.keda }}
---
# Kafka workers scale on consumer lag, services on request rate, not CPU (an encoder-bound worker idles on
# CPU while its topic grows; a GPU encoder's CPU says nothing). KEDA owns the HorizontalPodAutoscaler it
# creates; the CPU one below is not rendered. Worker replicas beyond a topic's partition count sit idle.
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata:
  name: {{ $full }}
  labels:
    {{- include "musechat.labels" (list $root $name) | nindent 4 }}
spec:
  scaleTargetRef:
    name: {{ $full }}
  minReplicaCount: {{ $c.autoscaling.minReplicas }}
  maxReplicaCount: {{ $c.autoscaling.maxReplicas }}
  pollingInterval: {{ $k.pollingInterval | default 15 }}
  cooldownPeriod: {{ $k.cooldownPeriod | default 300 }}
  triggers:
    {{- if $c.kafka.group }}
    {{- range $topic := $c.kafka.consumes }}
    - type: kafka
      metadata:
        bootstrapServers: {{ include "musechat.kafkaBootstrap" $root }}
        consumerGroup: {{ $c.kafka.group }}
        topic: {{ $topic }}
        lagThreshold: {{ $k.lagThreshold | default 50 | quote }}
        offsetResetPolicy: earliest
        {{- if include "musechat.kafkaAuth" $root }}
        sasl: scram_sha512
        tls: enable
      authenticationRef:
        name: {{ $full }}-kafka
        {{- end }}
    {{- end }}
    {{- else }}
    # Services (GPU-bound encoders above all: their CPU says nothing about load) scale on request rate.
    - type: prometheus
      metadata:
        serverAddress: {{ $root.Values.monitoring.prometheusUrl | required "monitoring.prometheusUrl is required for KEDA request-rate scaling" }}
        query: sum(rate(musechat_http_request_duration_seconds_count{service="{{ $name }}"}[2m]))
        threshold: {{ $k.requestsPerReplica | default 20 | quote }}
    {{- end }}
{{- if and $c.kafka.group (include "musechat.kafkaAuth" $root) }}
---
# The lag scaler reads offsets as the workload's own KafkaUser (its Read on the group covers offset fetches).
apiVersion: keda.sh/v1alpha1
kind: TriggerAuthentication
metadata:
  name: {{ $full }}-kafka
  labels:
    {{- include "musechat.labels" (list $root $name) | nindent 4 }}
spec:
  env:
    - {parameter: username, name: MUSECHAT_BUS_SASL_USERNAME, containerName: {{ $name }}}
  secretTargetRef:
    - {parameter: password, name: {{ $full }}, key: password}
    - {parameter: ca, name: {{ include "musechat.resourceName" (list $root "kafka") }}-cluster-ca-cert, key: ca.crt}
{{- end }}
{{- else if $c.autoscaling.enabled }}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ $full }}
  labels:
    {{- include "musechat.labels" (list $root $name) | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ $full }}
  minReplicas: {{ $c.autoscaling.minReplicas }}
  maxReplicas: {{ $c.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ $c.autoscaling.targetCPUUtilizationPercentage }}
  behavior:
    scaleDown:
      # Replicas that load models are slow to come back: scale down gently.
      stabilizationWindowSeconds: 300
{{- end }}
{{- if and $c.pdb.enabled (or $c.autoscaling.enabled $keda (gt (int $c.replicas) 1)) }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ $full }}
  labels:
    {{- include "musechat.labels" (list $root $name) | nindent 4 }}
spec:
  maxUnavailable: {{ $c.pdb.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "musechat.selectorLabels" (list $root $name) | nindent 6 }}
{{- end }}
{{- if $root.Values.networkPolicy.enabled }}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ $full }}
  labels:
    {{- include "musechat.labels" (list $root $name) | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "musechat.selectorLabels" (list $root $name) | nindent 6 }}
  policyTypes: [Ingress]
  ingress:
    {{- if $c.networkPolicy.public }}
    - ports:
        - port: http
      {{- with $root.Values.networkPolicy.publicFrom }}
      from:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    {{- end }}
    {{- $callers := $c.networkPolicy.allowFrom }}
    {{- if and $root.Values.smokeTest.enabled (eq $key "gateway") }}
    {{- $callers = append $callers "smokeTest" }}
    {{- end }}
    {{- if $callers }}
    - ports:
        - port: http
      from:
        {{- range $caller := $callers }}
        - podSelector:
            matchLabels:
              {{- include "musechat.selectorLabels" (list $root (kebabcase $caller)) | nindent 14 }}
        {{- end }}
    {{- end }}
    - ports:
        - port: {{ ternary "http" "metrics" (eq (int $c.metricsPort) (int $c.port)) }}
      from:
        - namespaceSelector:
            {{- toYaml $root.Values.networkPolicy.metricsNamespaceSelector | nindent 12 }}
{{- end }}
{{- end -}}
