#!/usr/bin/env bash
# Generates the prometheus-operator ServiceMonitor CRD (v0.95.2 types) with controller-gen v0.23.0 from the
# Go module proxy, once, into .cache/helm/crd-<key>/ (git-ignored); prints the CRD file's path. The install
# test applies it so that the chart's ServiceMonitor is validated against the real schema. First run about
# 1.5 minutes on 2 cores (controller-gen build); cached: instant.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
key=$(cat "$here/build/crd/go.mod" "$here/build/crd/go.sum" | sha256sum | cut -c1-16)
out="$root/.cache/helm/crd-$key"
crd="$out/monitoring.coreos.com_servicemonitors.yaml"
if [ -f "$crd" ]; then echo "$crd"; exit 0; fi
if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then PATH="$PATH:/usr/local/go/bin"; fi
command -v go >/dev/null || { echo "test/helm/build-crd.sh: go is not installed (Go 1.26 generates the ServiceMonitor CRD)" >&2; exit 1; }
tmp="$out.tmp.$$"
mkdir -p "$tmp/crds"
start=$(date +%s)
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
(cd "$here/build/crd" && go build -o "$tmp/controller-gen" sigs.k8s.io/controller-tools/cmd/controller-gen \
  && "$tmp/controller-gen" crd paths=github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1 output:crd:dir="$tmp/crds") >&2
mkdir -p "$out" && mv "$tmp/crds/monitoring.coreos.com_servicemonitors.yaml" "$crd" && rm -rf "$tmp"
echo "test/helm/build-crd.sh: generated the ServiceMonitor CRD in $(( $(date +%s) - start ))s" >&2
echo "$crd"
