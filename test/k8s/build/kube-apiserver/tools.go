//go:build tools

// Keeps `go mod tidy` from dropping the kube-apiserver requirement.
package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
