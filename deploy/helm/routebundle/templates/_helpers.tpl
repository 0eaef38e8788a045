{{/* Names, truncated to the 63 characters Kubernetes allows in a label value. */}}
{{- define "routebundle.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "routebundle.fullname" -}}
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

{{- define "routebundle.selectorLabels" -}}
app.kubernetes.io/name: {{ include "routebundle.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The chart's own objects are labelled as Helm's, not as routebundle's
     (app.kubernetes.io/managed-by: routebundle marks what it may prune). */}}
{{- define "routebundle.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "routebundle.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* The release label kube-prometheus-stack selects by, when set. */}}
{{- define "routebundle.releaseLabel" -}}
{{- with .Values.kubePrometheusStack.release -}}
release: {{ . | quote }}
{{- end -}}
{{- end -}}

{{- define "routebundle.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "routebundle.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "routebundle.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{- define "routebundle.dashboardsNamespace" -}}
{{- default .Values.targetNamespaces.monitors .Values.targetNamespaces.dashboards -}}
{{- end -}}

{{/* The bundle config: .Values.config, with the keys the chart's values
     speak for filled in where it leaves them unset. */}}
{{- define "routebundle.bundleConfig" -}}
{{- $v := .Values -}}
{{- $derived := dict
  "rootNamespace" $v.istio.rootNamespace
  "rules" (dict "namespace" $v.targetNamespaces.rules "release" $v.kubePrometheusStack.release)
  "scrape" (dict "namespace" $v.targetNamespaces.monitors "istioNamespace" $v.istio.namespace "release" $v.kubePrometheusStack.release)
  "dashboards" (dict "configMap" (dict
    "namespace" (include "routebundle.dashboardsNamespace" .)
    "labelKey" $v.grafana.sidecarLabel
    "labelValue" $v.grafana.sidecarLabelValue
    "folder" $v.grafana.folder
    "folderAnnotation" $v.grafana.folderAnnotation
    "release" $v.kubePrometheusStack.release)) -}}
{{- toYaml (merge (deepCopy $v.config) $derived) -}}
{{- end -}}

{{/* The namespaces of namespace-scoped mode whose sources routebundle
     reads (and whose objects get its Events): the watched ones and Istio's
     root namespace. */}}
{{- define "routebundle.sourceNamespaces" -}}
{{- toJson (append .Values.watchNamespaces .Values.istio.rootNamespace | uniq | sortAlpha) -}}
{{- end -}}

{{/* The namespaces routebundle writes its objects to, read from the bundle
     config it is given (so that values.config cannot send an object
     elsewhere unnoticed: routebundle refuses a config naming a namespace
     not among them): rules.namespace (each route set's own, the source
     namespaces, when unset), scrape.namespace and
     dashboards.configMap.namespace. In namespace-scoped mode routebundle
     is passed them as --output-namespaces and watches its objects there
     only. */}}
{{- define "routebundle.outputNamespaces" -}}
{{- $cfg := include "routebundle.bundleConfig" . | fromYaml -}}
{{- $scrape := dig "scrape" "namespace" "" $cfg -}}
{{- $ns := list $scrape (dig "dashboards" "configMap" "namespace" "" $cfg | default $scrape) -}}
{{- with dig "rules" "namespace" "" $cfg -}}
{{- $ns = append $ns . -}}
{{- else -}}
{{- $ns = concat $ns (include "routebundle.sourceNamespaces" . | fromJsonArray) -}}
{{- end -}}
{{- toJson (uniq $ns | sortAlpha) -}}
{{- end -}}

{{/* RBAC rules. Each is needed: deploy/apiserver_test.go runs routebundle
     under them in a real API server and finds every verb used. */}}

{{/* Namespaces are cluster-scoped: read in either mode (labels say which
     namespaces are ambient or served by a waypoint). In namespace-scoped
     mode this is all the ClusterRole holds. */}}
{{- define "routebundle.namespaceRules" -}}
- apiGroups: [""]
  resources: [namespaces]
  verbs: [list, watch]
{{- end -}}

{{/* The sources, read through informers only (list and watch). */}}
{{- define "routebundle.sourceRules" -}}
# Istio's classification, and what decides where it applies.
- apiGroups: [extensions.istio.io]
  resources: [wasmplugins]
  verbs: [list, watch]
- apiGroups: [telemetry.istio.io]
  resources: [telemetries]
  verbs: [list, watch]
- apiGroups: [gateway.networking.k8s.io]
  resources: [gateways, httproutes, grpcroutes]
  verbs: [list, watch]
- apiGroups: [networking.istio.io]
  resources: [virtualservices]
  verbs: [list, watch]
# Services as metadata: their labels say which routes reach which workload.
- apiGroups: [""]
  resources: [services]
  verbs: [list, watch]
{{- end -}}

{{/* The bundle, with the verbs given: server-side applied (patch; create
     when the object is new), pruned (delete), watched as metadata (list,
     watch), read live before it is taken back from someone else's edit
     (get). */}}
{{- define "routebundle.outputRules" -}}
# The bundle: {{ join ", " . }}.
- apiGroups: [monitoring.coreos.com]
  resources: [prometheusrules, podmonitors, servicemonitors]
  verbs: [{{ join ", " . }}]
- apiGroups: [""]
  resources: [configmaps]
  verbs: [{{ join ", " . }}]
{{- end -}}

{{/* Findings as Events on the WasmPlugins, Telemetries and route objects
     (patch: a finding seen again). */}}
{{- define "routebundle.eventRules" -}}
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [create, patch]
{{- end -}}

{{/* The Events sent before a restart are listed (where the sources are:
     every namespace, or in namespace-scoped mode the source namespaces)
     so that they are not sent twice. */}}
{{- define "routebundle.eventListRules" -}}
- apiGroups: [""]
  resources: [events]
  verbs: [list]
{{- end -}}
