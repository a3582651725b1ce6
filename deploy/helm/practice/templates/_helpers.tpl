{{/* Names and labels shared by every template. */}}
{{- define "practice.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "practice.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "practice.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "practice.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "practice.secretName" -}}
{{- .Values.existingSecret | default (printf "%s-env" (include "practice.fullname" .)) -}}
{{- end -}}

{{/* Environment of every container: the ConfigMap and the Secret of .env.example's keys. */}}
{{- define "practice.envFrom" -}}
- configMapRef:
    name: {{ include "practice.fullname" . }}-env
- secretRef:
    name: {{ include "practice.secretName" . }}
{{- end -}}

{{/* Writable scratch space; the root filesystem is read-only. */}}
{{- define "practice.volumes" -}}
- name: tmp
  emptyDir: {}
- name: metrics
  emptyDir: {}
{{- end -}}

{{- define "practice.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
- name: metrics
  mountPath: /tmp/metrics
{{- end -}}

{{- define "practice.podCommon" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
automountServiceAccountToken: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
