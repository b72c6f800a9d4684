#!/bin/sh
# Build every binary of the Kubernetes testbed into version-keyed directories.
# Usage: build-all.sh <cache dir> <k8s version> <etcd version> <coredns version> \
#                     <local-path version> <kwok version>
# The versions must match the wrapper go.mod files next to this script (the role checks).
# Environment: GO (go binary), GOMODCACHE, GOCACHE, K8S_TESTBED_BUILD_TAGS, and
# K8S_TESTBED_LOG (all output goes there instead of stdout, for progress reports).
set -eu
if [ -n "${K8S_TESTBED_LOG:-}" ]; then
  : >"$K8S_TESTBED_LOG"
  exec >>"$K8S_TESTBED_LOG" 2>&1
fi
here=$(cd "$(dirname "$0")" && pwd)
cache=$1 k8s=$2 etcd=$3 coredns=$4 localpath=$5 kwok=$6
GO=${GO:-/usr/local/go/bin/go}
PATH=$(dirname "$GO"):$PATH
GOTOOLCHAIN=local
GOFLAGS=-mod=mod
export PATH GOTOOLCHAIN GOFLAGS
minor=$(echo "$k8s" | cut -d. -f2)
start=$(date +%s)
# Progress counts binaries over the whole build (build.sh prints "building <name> (n/12)").
K8S_TESTBED_STEP=0
K8S_TESTBED_STEPS=12
export K8S_TESTBED_STEP K8S_TESTBED_STEPS
# A failure ends with a marker line too, so whoever follows the log stops waiting at once.
trap 'rc=$?; [ "$rc" -eq 0 ] || echo "[k8s-testbed] build failed (exit $rc) after $(( $(date +%s) - start ))s"' EXIT
echo "[k8s-testbed] build started $(date -u +%H:%M:%S); module cache $GOMODCACHE, build cache $GOCACHE"
K8S_TESTBED_LDFLAGS="-X k8s.io/component-base/version.gitVersion=v$k8s -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean -X k8s.io/client-go/pkg/version.gitVersion=v$k8s -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor" \
  "$here/build.sh" "$here/kube" "$cache/v$k8s/bin" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubelet \
  k8s.io/kubernetes/cmd/kubectl k8s.io/kubernetes/cmd/kube-proxy
K8S_TESTBED_STEP=6
"$here/build.sh" "$here/etcd" "$cache/etcd-v$etcd/bin" flinkfleet.local/testbed/k8s/etcd
K8S_TESTBED_STEP=7
"$here/build.sh" "$here/pause" "$cache/pause-1/bin" flinkfleet.local/testbed/k8s/pause
K8S_TESTBED_STEP=8
"$here/build.sh" "$here/coredns" "$cache/coredns-v$coredns/bin" flinkfleet.local/testbed/k8s/coredns
K8S_TESTBED_STEP=9
"$here/build.sh" "$here/localpath" "$cache/local-path-provisioner-v$localpath/bin" github.com/rancher/local-path-provisioner
K8S_TESTBED_STEP=10
"$here/build.sh" "$here/kwok" "$cache/kwok-v$kwok/bin" sigs.k8s.io/kwok/cmd/kwok sigs.k8s.io/kwok/cmd/kwokctl
echo "[k8s-testbed] build finished in $(( $(date +%s) - start ))s"
