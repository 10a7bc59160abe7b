{{/* Names, labels and the pod every workload of this chart runs. */}}

{{- define "smokewatch.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "smokewatch.fullname" -}}
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

{{/* A region's workload name: at most 52 characters (a CronJob's limit), unique per region. */}}
{{- define "smokewatch.regionName" -}}
{{- $base := include "smokewatch.fullname" .root | trunc (int (sub 51 (len .region.name))) | trimSuffix "-" -}}
{{- printf "%s-%s" $base .region.name -}}
{{- end -}}

{{- define "smokewatch.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "smokewatch.selectorLabels" -}}
app.kubernetes.io/name: {{ include "smokewatch.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "smokewatch.labels" -}}
helm.sh/chart: {{ include "smokewatch.chart" . }}
{{ include "smokewatch.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "smokewatch.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{- define "smokewatch.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "smokewatch.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "smokewatch.configMapName" -}}
{{- .Values.existingConfigMap | default (printf "%s-config" (include "smokewatch.fullname" .)) -}}
{{- end -}}

{{/* The Secret whose keys become environment variables and files; "" when there is none. */}}
{{- define "smokewatch.secretName" -}}
{{- if .Values.secret.existingSecret -}}
{{- .Values.secret.existingSecret -}}
{{- else if .Values.secret.create -}}
{{- printf "%s-env" (include "smokewatch.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "smokewatch.postgresqlName" -}}
{{- printf "%s-postgresql" (include "smokewatch.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "smokewatch.postgresqlSecretName" -}}
{{- .Values.database.bundled.existingSecret | default (include "smokewatch.postgresqlName" .) -}}
{{- end -}}

{{/* Whether pods of this release serve the API (and so get a Service). */}}
{{- define "smokewatch.servesApi" -}}
{{- if or (eq .Values.mode "deployment") .Values.api.enabled -}}true{{- end -}}
{{- end -}}

{{/* Pod annotations: podAnnotations plus checksums that roll pods when the config or the
chart-made Secret changes. A YAML mapping, possibly empty. */}}
{{- define "smokewatch.podAnnotations" -}}
{{- $annotations := deepCopy (.Values.podAnnotations | default dict) -}}
{{- if not .Values.existingConfigMap -}}
{{- $_ := set $annotations "checksum/config" (include (print .Template.BasePath "/configmap.yaml") . | sha256sum) -}}
{{- end -}}
{{- if and .Values.secret.create (not .Values.secret.existingSecret) -}}
{{- $_ := set $annotations "checksum/secret" (include (print .Template.BasePath "/secret.yaml") . | sha256sum) -}}
{{- end -}}
{{- with $annotations -}}
{{- toYaml . -}}
{{- end -}}
{{- end -}}

{{/* nodeAffinity that keeps a region's pods on its nodes. */}}
{{- define "smokewatch.regionNodeAffinity" -}}
{{- $expr := dict "key" .root.Values.regionAffinity.topologyKey "operator" "In" "values" (list .region.nodeRegion) -}}
{{- if eq .root.Values.regionAffinity.type "required" -}}
requiredDuringSchedulingIgnoredDuringExecution:
  nodeSelectorTerms:
    - matchExpressions:
        - {{- toYaml $expr | nindent 10 }}
{{- else -}}
preferredDuringSchedulingIgnoredDuringExecution:
  - weight: 100
    preference:
      matchExpressions:
        - {{- toYaml $expr | nindent 10 }}
{{- end -}}
{{- end -}}

{{/*
The pod spec of every smokewatch workload.
  root: the chart context; region: a `regions` entry; component: scheduler | api | cronjob;
  args: the smokewatch arguments; serves: listen on 8080 with probes; restartPolicy: optional.
*/}}
{{- define "smokewatch.podSpec" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
{{- $region := .region -}}
{{- $secret := include "smokewatch.secretName" $root -}}
serviceAccountName: {{ include "smokewatch.serviceAccountName" $root }}
automountServiceAccountToken: {{ $v.serviceAccount.automountToken }}
{{- with $v.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .restartPolicy }}
restartPolicy: {{ . }}
{{- end }}
terminationGracePeriodSeconds: {{ $v.terminationGracePeriodSeconds }}
securityContext:
  {{- toYaml $v.podSecurityContext | nindent 2 }}
{{- $nodeSelector := merge (deepCopy ($region.nodeSelector | default dict)) $v.nodeSelector }}
{{- with $nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- $affinity := deepCopy ($region.affinity | default $v.affinity | default dict) }}
{{- if $region.nodeRegion }}
{{- $_ := set $affinity "nodeAffinity" (fromYaml (include "smokewatch.regionNodeAffinity" .)) }}
{{- end }}
{{- with $affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with (concat ($region.tolerations | default list) $v.tolerations) }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if and $v.topologySpread.enabled (ne .component "cronjob") }}
topologySpreadConstraints:
  - topologyKey: {{ $v.topologySpread.topologyKey }}
    maxSkew: {{ $v.topologySpread.maxSkew }}
    whenUnsatisfiable: {{ $v.topologySpread.whenUnsatisfiable }}
    labelSelector:
      matchLabels:
        {{- include "smokewatch.selectorLabels" $root | nindent 8 }}
        app.kubernetes.io/component: {{ .component }}
        smokewatch/region: {{ $region.name }}
{{- end }}
containers:
  - name: smokewatch
    image: {{ include "smokewatch.image" $root }}
    imagePullPolicy: {{ $v.image.pullPolicy }}
    args:
      {{- toYaml .args | nindent 6 }}
    env:
      - name: SMOKEWATCH_REGION
        value: {{ $region.name | quote }}
      - name: SMOKEWATCH_CONFIG
        value: /etc/smokewatch/smokewatch.yaml
      {{- if eq $v.database.type "external" }}
      - name: SMOKEWATCH_DATABASE_URL
        valueFrom:
          secretKeyRef:
            name: {{ $v.database.external.existingSecret }}
            key: {{ $v.database.external.urlKey }}
      {{- else if eq $v.database.type "bundled" }}
      - name: SMOKEWATCH_DB_PASSWORD
        valueFrom:
          secretKeyRef:
            name: {{ include "smokewatch.postgresqlSecretName" $root }}
            key: password
      - name: SMOKEWATCH_DATABASE_URL
        value: {{ printf "postgresql://%s:$(SMOKEWATCH_DB_PASSWORD)@%s:5432/%s" $v.database.bundled.username (include "smokewatch.postgresqlName" $root) $v.database.bundled.database | quote }}
      {{- end }}
      {{- if $v.datadog.nodeAgent }}
      - name: DD_AGENT_HOST
        valueFrom:
          fieldRef:
            fieldPath: status.hostIP
      - name: DD_ENTITY_ID
        valueFrom:
          fieldRef:
            fieldPath: metadata.uid
      {{- end }}
      {{- with $v.extraEnv }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
      {{- with $region.env }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
    {{- if or $secret $v.extraEnvFrom }}
    envFrom:
      {{- if $secret }}
      - secretRef:
          name: {{ $secret }}
      {{- end }}
      {{- with $v.extraEnvFrom }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
    {{- end }}
    {{- if .serves }}
    ports:
      - name: http
        containerPort: 8080
        protocol: TCP
    startupProbe:
      httpGet: {path: /health, port: http}
      {{- toYaml $v.probes.startup | nindent 6 }}
    livenessProbe:
      httpGet: {path: /health, port: http}
      {{- toYaml $v.probes.liveness | nindent 6 }}
    readinessProbe:
      httpGet: {path: /ready, port: http}
      {{- toYaml $v.probes.readiness | nindent 6 }}
    {{- end }}
    resources:
      {{- toYaml (.resources | default $region.resources | default $v.resources) | nindent 6 }}
    securityContext:
      {{- toYaml $v.securityContext | nindent 6 }}
    volumeMounts:
      - name: config
        mountPath: /etc/smokewatch
        readOnly: true
      - name: data
        mountPath: /var/lib/smokewatch
      - name: tmp
        mountPath: /tmp
      - name: dshm
        mountPath: /dev/shm
      {{- if $secret }}
      - name: secrets
        mountPath: /run/secrets/smokewatch
        readOnly: true
      {{- end }}
      {{- with $v.extraVolumeMounts }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
volumes:
  - name: config
    configMap:
      name: {{ include "smokewatch.configMapName" $root }}
  - name: data
    {{- if and $v.persistence.enabled (eq .component "scheduler") }}
    persistentVolumeClaim:
      claimName: {{ $v.persistence.existingClaim | default (printf "%s-data" (include "smokewatch.fullname" $root)) }}
    {{- else }}
    emptyDir: {}
    {{- end }}
  - name: tmp
    emptyDir:
      sizeLimit: {{ $v.tmp.sizeLimit }}
  - name: dshm
    emptyDir:
      medium: Memory
      sizeLimit: {{ $v.shm.sizeLimit }}
  {{- if $secret }}
  - name: secrets
    secret:
      secretName: {{ $secret }}
  {{- end }}
  {{- with $v.extraVolumes }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end -}}

{{/* The whole smokewatch.yaml: `config`, with `regions` filled in from the region list. */}}
{{- define "smokewatch.configYaml" -}}
{{- $config := deepCopy .Values.config -}}
{{- if not (hasKey $config "regions") -}}
{{- $names := list -}}
{{- range .Values.regions -}}
{{- $names = append $names .name -}}
{{- end -}}
{{- $_ := set $config "regions" $names -}}
{{- end -}}
{{- if and (eq .Values.mode "deployment") (ne .Values.database.type "sqlite") .Values.deployment.shard -}}
{{- $scheduler := deepCopy (default (dict) $config.scheduler) -}}
{{- if not (hasKey $scheduler "shard") -}}
{{- $_ := set $scheduler "shard" true -}}
{{- end -}}
{{- $_ := set $config "scheduler" $scheduler -}}
{{- end -}}
{{- toYaml $config -}}
{{- end -}}

{{/* Combinations that cannot work, refused at install time with the reason. */}}
{{- define "smokewatch.validate" -}}
{{- $v := .Values -}}
{{- $names := list -}}
{{- range $v.regions -}}
{{- if has .name $names -}}
{{- fail (printf "regions: %q is listed twice" .name) -}}
{{- end -}}
{{- $names = append $names .name -}}
{{- end -}}
{{- if $v.autoscaling.enabled -}}
{{- if or (ne $v.mode "deployment") (eq $v.database.type "sqlite") (not $v.deployment.shard) -}}
{{- fail "autoscaling needs mode deployment, PostgreSQL (database.type external or bundled) and deployment.shard: replicas that only stand by would not share the load" -}}
{{- end -}}
{{- end -}}
{{- if eq $v.database.type "sqlite" -}}
{{- if eq $v.mode "cronjob" -}}
{{- fail "mode cronjob needs a shared store: each run is a new pod and the API reads the results from another; set database.type to external or bundled" -}}
{{- end -}}
{{- if gt (len $v.regions) 1 -}}
{{- fail "several regions share results (and min_regions alerts) only through PostgreSQL; set database.type to external or bundled, or list one region" -}}
{{- end -}}
{{- range $v.regions -}}
{{- if gt (int (ternary .replicas $v.deployment.replicas (hasKey . "replicas"))) 1 -}}
{{- fail (printf "region %q: more than one replica needs PostgreSQL for the region leader lock; set database.type to external or bundled" .name) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if and (eq $v.database.type "external") (not $v.database.external.existingSecret) -}}
{{- fail "database.type external needs database.external.existingSecret: the Secret holding the PostgreSQL URL" -}}
{{- end -}}
{{- if and $v.secret.create $v.secret.existingSecret -}}
{{- fail "secret: set existingSecret or create, not both" -}}
{{- end -}}
{{- end -}}
