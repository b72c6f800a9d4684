#!/bin/bash
# Clean up what the testbed node left behind once all its daemons are stopped: containers our
# containerd still knows, mounts under the testbed's own directories, its bridge, the CNI
# iptables chains and the host-local address records. Prints one line per change, and
# "unchanged" when there was nothing to do.
# Usage: node-cleanup.sh <containerd socket> <bridge> <ipam dir> <dir> [<dir> ...]
set -u
socket=$1 bridge=$2 ipam=$3
shift 3
changes=0
say() { echo "$*"; changes=$((changes + 1)); }

if [ -S "$socket" ]; then
  for task in $(ctr --address "$socket" -n k8s.io tasks ls -q 2>/dev/null); do
    ctr --address "$socket" -n k8s.io tasks kill -s SIGKILL "$task" >/dev/null 2>&1
    sleep 0.2
    ctr --address "$socket" -n k8s.io tasks delete -f "$task" >/dev/null 2>&1 && say "deleted task $task"
  done
  for container in $(ctr --address "$socket" -n k8s.io containers ls -q 2>/dev/null); do
    ctr --address "$socket" -n k8s.io containers delete "$container" >/dev/null 2>&1 && say "deleted container $container"
  done
fi

for dir in "$@"; do
  [ -d "$dir" ] || continue
  # Deepest mount points first.
  for mount in $(awk -v d="$dir" '$5 == d || index($5, d "/") == 1 {print $5}' /proc/self/mountinfo | sort -r); do
    umount "$mount" 2>/dev/null || umount -l "$mount" 2>/dev/null
    say "unmounted $mount"
  done
done

if [ -e "/sys/class/net/$bridge" ]; then
  ip link delete "$bridge" && say "deleted bridge $bridge"
fi

# iptables rules of the kubelet (KUBE-FIREWALL, canaries), kube-proxy (KUBE-SERVICES, ...) and
# the CNI firewall and portmap plugins (CNI-*): first every jump into such a chain, then the chains.
for cmd in iptables ip6tables; do
  command -v "$cmd" >/dev/null || continue
  for table in filter nat mangle; do
    $cmd -t "$table" -S >/dev/null 2>&1 || continue
    $cmd -t "$table" -S | grep -E -- '^-A .* -j (KUBE|CNI)-[A-Za-z0-9_-]+( |$)' | while read -r rule; do
      eval "$cmd -t $table ${rule/#-A /-D }" 2>/dev/null
    done
    chains=$($cmd -t "$table" -S | awk '$1 == "-N" && $2 ~ /^(KUBE|CNI)-/ {print $2}')
    for chain in $chains; do $cmd -t "$table" -F "$chain" 2>/dev/null; done
    for chain in $chains; do $cmd -t "$table" -X "$chain" 2>/dev/null && say "deleted $cmd $table chain $chain"; done
  done
done

# The kubelet's cgroups (cgroupfs driver): remove the empty kubepods trees, deepest first.
for tree in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/unified/kubepods; do
  [ -d "$tree" ] || continue
  find "$tree" -depth -type d -exec rmdir {} + 2>/dev/null
  [ -d "$tree" ] || say "removed cgroup tree $tree"
done

if [ -d "$ipam" ] && [ -n "$(ls -A "$ipam" 2>/dev/null)" ]; then
  rm -rf "${ipam:?}"/* && say "cleared address records in $ipam"
fi

[ "$changes" -eq 0 ] && echo unchanged
exit 0
