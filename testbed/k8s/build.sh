#!/bin/sh
# Build one Go module of the Kubernetes testbed into a version-keyed directory.
# Usage: build.sh <module dir> <output dir> <package> [<package> ...]
# Binaries already in <output dir> are not rebuilt (a warm start builds nothing).
# Progress lines go to stdout: "[k8s-testbed] building <name> (i/n)".
set -eu
module_dir=$1
out_dir=$2
shift 2
: "${GOTOOLCHAIN:=local}"
: "${CGO_ENABLED:=0}"
: "${K8S_TESTBED_BUILD_TAGS:=selinux,notest,grpcnotrace}"
: "${K8S_TESTBED_NICE:=10}"
export GOTOOLCHAIN CGO_ENABLED
mkdir -p "$out_dir"
# Numbering over the whole build when build-all.sh gives it (offset and total), else this call's.
total=${K8S_TESTBED_STEPS:-$#}
i=${K8S_TESTBED_STEP:-0}
built=0
for pkg in "$@"; do
  i=$((i + 1))
  name=${pkg##*/}
  case $name in v[0-9]*) rest=${pkg%/*}; name=${rest##*/} ;; esac
  if [ -x "$out_dir/$name" ]; then
    echo "[k8s-testbed] cached $name ($i/$total)"
    continue
  fi
  echo "[k8s-testbed] building $name ($i/$total)"
  start=$(date +%s)
  (cd "$module_dir" && nice -n "$K8S_TESTBED_NICE" go build -mod=mod -trimpath -p 2 \
      -tags "$K8S_TESTBED_BUILD_TAGS" -ldflags "-s -w ${K8S_TESTBED_LDFLAGS:-}" \
      -o "$out_dir/$name.tmp" "$pkg")
  mv "$out_dir/$name.tmp" "$out_dir/$name"
  built=$((built + 1))
  echo "[k8s-testbed] built $name in $(( $(date +%s) - start ))s"
done
echo "[k8s-testbed] done: $built built, $(($# - built)) cached"
