{{- define "hatchway.name" -}}hatchway{{- end -}}

{{- define "hatchway.labels" -}}
app.kubernetes.io/name: hatchway
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "hatchway.selector" -}}
app.kubernetes.io/name: hatchway
app.kubernetes.io/component: controller
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "hatchway.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "hatchway.fullname" -}}{{ .Release.Name }}{{- end -}}

{{- define "hatchway.xdsService" -}}
{{ include "hatchway.fullname" . }}.{{ .Release.Namespace }}.svc:{{ .Values.xds.port }}
{{- end -}}
