#!/usr/bin/env bash
# Builds the test cluster's kube-apiserver (v1.36.3) and etcd (v3.6.16) from the Go module proxy, once.
# The binaries are cached in .cache/k8s/<key>/ (git-ignored), where key hashes the wrapper modules, so a
# version change rebuilds and nothing else does. Prints the directory holding both binaries.
# The first build on a new machine takes minutes (see test/k8s/README.md for the measured times).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# The key covers the pinned versions only (go.mod, go.sum): edit KEY_SALT to force a rebuild after changing flags.
KEY_SALT=1
key=$( (cat "$here"/build/*/go.mod "$here"/build/*/go.sum; echo "$KEY_SALT") | sha256sum | cut -c1-16)
out="$root/.cache/k8s/$key"
if [ -x "$out/kube-apiserver" ] && [ -x "$out/etcd" ]; then echo "$out"; exit 0; fi
if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then PATH="$PATH:/usr/local/go/bin"; fi
command -v go >/dev/null || { echo "build.sh: go is not installed (Go 1.26 is needed to build the test apiserver)" >&2; exit 1; }
tmp="$out.tmp.$$"
mkdir -p "$tmp"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
start=$(date +%s)
(cd "$here/build/etcd" && go build -trimpath -ldflags '-s -w' -o "$tmp/etcd" go.etcd.io/etcd/server/v3) >&2
ver=v1.36.3
ld="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ld="$ld -X $pkg.gitVersion=$ver -X $pkg.gitMajor=1 -X $pkg.gitMinor=36 -X $pkg.gitTreeState=clean"
done
(cd "$here/build/kube-apiserver" && go build -trimpath -tags selinux,notest,grpcnotrace -ldflags "$ld" -o "$tmp/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver) >&2
rm -rf "$out" && mv "$tmp" "$out"
echo "build.sh: built kube-apiserver $ver and etcd in $(( $(date +%s) - start ))s" >&2
echo "$out"
