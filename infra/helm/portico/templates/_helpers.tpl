{{/* Names, labels and the shared pieces of the pod specs. */}}

{{- define "portico.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-based base name, at most 50 characters so that "-worker-keys" and the like still fit in 63. */}}
{{- define "portico.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "portico.selectorLabels" -}}
app.kubernetes.io/name: {{ include "portico.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "portico.labels" -}}
{{ include "portico.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: portico
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{- define "portico.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* The compiled entry point of the image (dist/, written by `npm run build`), named here rather than left to the
image's ENTRYPOINT so the chart runs it whatever image it is pointed at. */}}
{{- define "portico.command" -}}["/nodejs/bin/node", "/app/dist/cli/portico.js"]{{- end -}}
{{- define "portico.syncName" -}}{{ include "portico.fullname" . }}-sync{{- end -}}
{{/* What Ingress status publishes: sync.publishService, else sync.publishAddresses, else the chart's own
worker Service when the workers are behind one (ingress-nginx's chart passes its controller Service the same way). */}}
{{- define "portico.publishArgs" -}}
{{- if .Values.sync.publishService }}
- --publish-service={{ .Values.sync.publishService }}
{{- else if .Values.sync.publishAddresses }}
{{- range .Values.sync.publishAddresses }}
- --publish-address={{ . }}
{{- end }}
{{- else if ne .Values.worker.exposure "hostPort" }}
- --publish-service={{ .Release.Namespace }}/{{ include "portico.workerName" . }}
{{- end }}
{{- end -}}
{{- define "portico.workerName" -}}{{ include "portico.fullname" . }}-worker{{- end -}}
{{- define "portico.keysJobName" -}}{{ include "portico.fullname" . }}-keys{{- end -}}
{{- define "portico.redisName" -}}{{ include "portico.fullname" . }}-redis{{- end -}}
{{- define "portico.agentKeysSecret" -}}{{ .Values.keys.existingSecret | default (printf "%s-sync-keys" (include "portico.fullname" .)) }}{{- end -}}
{{/* "true" when Redis is the user's (a URL, Sentinel or Cluster), empty when the chart bundles a trial Redis. */}}
{{- define "portico.externalRedis" -}}{{ if or .Values.redis.url .Values.redis.sentinel.hosts .Values.redis.clusterNodes }}true{{ end }}{{- end -}}
{{- define "portico.redisPasswordSecret" -}}{{ include "portico.fullname" . }}-redis-password{{- end -}}
{{- define "portico.workerKeysSecret" -}}{{ .Values.keys.existingWorkerSecret | default (printf "%s-worker-keys" (include "portico.fullname" .)) }}{{- end -}}

{{/* The values that cannot be checked by values.schema.json alone: one clear error each. */}}
{{- define "portico.validate" -}}
{{- if regexMatch "^rediss?://[^/]*@" .Values.redis.url -}}
{{- fail "redis.url: no credentials in the URL (it is visible in the pod spec); put the password in a Secret named by redis.passwordSecret" -}}
{{- end -}}
{{- if ge (int .Values.sync.podDisruptionBudget.minAvailable) (int .Values.sync.replicas) -}}
{{- if and .Values.sync.podDisruptionBudget.enabled (ge (int .Values.sync.replicas) 2) -}}
{{- fail "sync.podDisruptionBudget.minAvailable must be below sync.replicas, or no node running an agent could ever be drained" -}}
{{- end -}}
{{- end -}}
{{- $w := .Values.worker -}}
{{- if and (eq $w.kind "Deployment") (eq $w.exposure "hostPort") -}}
{{- fail "worker.kind Deployment needs worker.exposure LoadBalancer or NodePort: two workers scheduled on one node cannot both hold its host ports" -}}
{{- end -}}
{{- if and $w.hostNetwork (ne $w.exposure "hostPort") -}}
{{- fail "worker.hostNetwork is for worker.exposure hostPort (behind a Service the workers listen in their pods)" -}}
{{- end -}}
{{- if and $w.autoscaling.enabled (ne $w.kind "Deployment") -}}
{{- fail "worker.autoscaling needs worker.kind Deployment" -}}
{{- end -}}
{{- if gt (int $w.autoscaling.minReplicas) (int $w.autoscaling.maxReplicas) -}}
{{- fail "worker.autoscaling.minReplicas must not exceed maxReplicas" -}}
{{- end -}}
{{- if and .Values.multicluster.gateway.enabled (eq $w.kind "Deployment") -}}
{{- fail "multicluster.gateway needs worker.kind DaemonSet: its port is a host port on each node" -}}
{{- end -}}
{{- if and .Values.sync.publishService .Values.sync.publishAddresses -}}
{{- fail "sync.publishService and sync.publishAddresses exclude each other: status takes the Service's addresses or the fixed ones" -}}
{{- end -}}
{{- with .Values.worker.updateStrategy.rollingUpdate -}}
{{- if and .maxSurge (ne (toString .maxSurge) "0") (eq $w.exposure "hostPort") -}}
{{- fail "worker.updateStrategy.rollingUpdate.maxSurge must be 0: a surge pod cannot bind the node ports its predecessor holds" -}}
{{- end -}}
{{- end -}}
{{- $mc := .Values.multicluster -}}
{{- if and (or $mc.peers $mc.gateway.enabled) (not .Values.tunnel.enabled) -}}
{{- fail "multicluster: peers and the gateway run in the node-local tunnel; set tunnel.enabled=true" -}}
{{- end -}}
{{- if and $mc.peers (not $mc.tunnelKeySecret) -}}
{{- fail "multicluster.peers needs multicluster.tunnelKeySecret (this cluster's tunnel signing key, which signs the peer tokens)" -}}
{{- end -}}
{{- if and $mc.gateway.enabled (or (not $mc.gateway.tlsSecret) (not $mc.gateway.trust)) -}}
{{- fail "multicluster.gateway needs gateway.tlsSecret and at least one gateway.trust entry" -}}
{{- end -}}
{{- range $mc.peers -}}
{{- if eq .cluster $.Values.cluster -}}
{{- fail (printf "multicluster.peers: %s is this cluster's own name" .cluster) -}}
{{- end -}}
{{- end -}}
{{- $modes := 0 -}}
{{- range (list .Values.redis.url .Values.redis.sentinel.hosts .Values.redis.clusterNodes) }}{{ if . }}{{ $modes = add1 $modes }}{{ end }}{{ end -}}
{{- if gt $modes 1 -}}
{{- fail "redis: give exactly one of redis.url, redis.sentinel.hosts, redis.clusterNodes" -}}
{{- end -}}
{{- if ne (empty .Values.redis.sentinel.hosts) (empty .Values.redis.sentinel.masterName) -}}
{{- fail "redis.sentinel: give both hosts and masterName (the master group the sentinels monitor)" -}}
{{- end -}}
{{- if and (or .Values.redis.sentinel.passwordSecret .Values.redis.sentinel.caSecret) (not .Values.redis.sentinel.hosts) -}}
{{- fail "redis.sentinel.passwordSecret / caSecret: only meaningful with redis.sentinel.hosts" -}}
{{- end -}}
{{- if and .Values.redis.caSecret .Values.redis.url (not (hasPrefix "rediss://" .Values.redis.url)) -}}
{{- fail "redis.caSecret: only meaningful with a rediss:// redis.url (or with redis.sentinel / redis.clusterNodes)" -}}
{{- end -}}
{{- if and .Values.redis.caSecret (not (include "portico.externalRedis" .)) -}}
{{- fail "redis.caSecret: only meaningful with a rediss:// redis.url" -}}
{{- end -}}
{{- if and .Values.redis.passwordSecret (not (include "portico.externalRedis" .)) -}}
{{- fail "redis.passwordSecret is for an external redis.url; the bundled trial Redis gets a generated password" -}}
{{- end -}}
{{- if and .Values.worker.proxyProtocol (not .Values.worker.trustedProxies) -}}
{{- fail "worker.proxyProtocol needs worker.trustedProxies: the load balancers allowed to send the PROXY header" -}}
{{- end -}}
{{- if ne (empty .Values.keys.existingSecret) (empty .Values.keys.existingWorkerSecret) -}}
{{- fail "keys: give both keys.existingSecret and keys.existingWorkerSecret, or neither (then a hook makes them)" -}}
{{- end -}}
{{- if and .Values.keys.existingSecret (eq .Values.keys.existingSecret .Values.keys.existingWorkerSecret) -}}
{{- fail "keys: the worker Secret must not be the agent's (workers never get the signing key)" -}}
{{- end -}}
{{- end -}}

{{- define "portico.redisUrl" -}}
{{- if not .Values.redis.url -}}
redis://{{ include "portico.redisName" . }}.{{ .Release.Namespace }}.svc:6379
{{- else -}}
{{ .Values.redis.url }}
{{- end -}}
{{- end -}}

{{/* Environment of every container that talks to Redis: where it is (a URL, Sentinel or Cluster: the same
settings as the --redis* flags, cli/redis-target-flags.ts), and the passwords and CAs from Secrets. */}}
{{- define "portico.redisEnv" -}}
{{- if .Values.redis.sentinel.hosts -}}
- name: PORTICO_REDIS_SENTINELS
  value: {{ join "," .Values.redis.sentinel.hosts | quote }}
- name: PORTICO_REDIS_SENTINEL_MASTER
  value: {{ .Values.redis.sentinel.masterName | quote }}
{{- if .Values.redis.sentinel.passwordSecret }}
- name: PORTICO_REDIS_SENTINEL_PASSWORD
  valueFrom:
    secretKeyRef: { name: {{ .Values.redis.sentinel.passwordSecret | quote }}, key: {{ .Values.redis.sentinel.passwordKey | quote }} }
{{- end }}
{{- if .Values.redis.sentinel.caSecret }}
- name: PORTICO_REDIS_SENTINEL_CA
  value: /etc/portico/redis-sentinel-ca/{{ .Values.redis.sentinel.caKey }}
{{- end }}
{{- else if .Values.redis.clusterNodes -}}
- name: PORTICO_REDIS_CLUSTER_NODES
  value: {{ join "," .Values.redis.clusterNodes | quote }}
{{- else -}}
- name: PORTICO_REDIS_URL
  value: {{ include "portico.redisUrl" . | quote }}
{{- end }}
{{- if not (include "portico.externalRedis" .) }}
- name: PORTICO_REDIS_PASSWORD
  valueFrom:
    secretKeyRef: { name: {{ include "portico.redisPasswordSecret" . | quote }}, key: password }
{{- else if .Values.redis.passwordSecret }}
- name: PORTICO_REDIS_PASSWORD
  valueFrom:
    secretKeyRef: { name: {{ .Values.redis.passwordSecret | quote }}, key: {{ .Values.redis.passwordKey | quote }} }
{{- end }}
{{- if .Values.redis.caSecret }}
- name: PORTICO_REDIS_CA
  value: /etc/portico/redis-ca/{{ .Values.redis.caKey }}
{{- end }}
{{- end -}}

{{- define "portico.redisCaVolume" -}}
{{- if .Values.redis.caSecret }}
- name: redis-ca
  secret: { secretName: {{ .Values.redis.caSecret | quote }}, items: [{ key: {{ .Values.redis.caKey | quote }}, path: {{ .Values.redis.caKey | quote }} }] }
{{- end }}
{{- if .Values.redis.sentinel.caSecret }}
- name: redis-sentinel-ca
  secret: { secretName: {{ .Values.redis.sentinel.caSecret | quote }}, items: [{ key: {{ .Values.redis.sentinel.caKey | quote }}, path: {{ .Values.redis.sentinel.caKey | quote }} }] }
{{- end }}
{{- end -}}

{{- define "portico.redisCaMount" -}}
{{- if .Values.redis.caSecret }}
- { name: redis-ca, mountPath: /etc/portico/redis-ca, readOnly: true }
{{- end }}
{{- if .Values.redis.sentinel.caSecret }}
- { name: redis-sentinel-ca, mountPath: /etc/portico/redis-sentinel-ca, readOnly: true }
{{- end }}
{{- end -}}

{{/* Non-root, no privilege escalation, read-only root filesystem, every capability dropped. */}}
{{- define "portico.restrictedContainer" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities: { drop: [ALL] }
{{- end -}}

{{- define "portico.nonRootPod" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile: { type: RuntimeDefault }
{{- end -}}

{{- define "portico.metricsAnnotations" -}}
{{- if .root.Values.metrics.podAnnotations }}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .port | quote }}
prometheus.io/path: /metrics
{{- end }}
{{- end -}}
