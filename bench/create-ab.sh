#!/bin/bash
# Native create + rm, two builds against each other (root): BLOCKS alternating blocks of 10 create + rm pairs
# per binary, each block in private net + mount + pid namespaces with a tmpfs /run holding all state, one
# container kept alive so the supervisor runs (as bench/attach.ts does). Prints each binary's median create
# and rm wall time in ms. A before/after of one change, free of the other paths bench/attach.ts interleaves.
# Usage: bench/create-ab.sh OLD_BINARY NEW_BINARY [BLOCKS=8]
set -eu
OLD=$(realpath "$1"); NEW=$(realpath "$2"); BLOCKS=${3:-8}
OUT=$(mktemp -d /tmp/ctrnet-create-ab.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
block() {
  unshare -nmp --fork --mount-proc --propagation private bash -s "$1" <<'INNER'
set -eu
C=$1
# everything under a fresh /run, as bench/ctrnet.ts's paths: no directory is made on the host
mount -t tmpfs none /run
export CTRNET_ROOT=/run/ab/root CTRNET_NETNS_DIR=/run/ab/netns CTRNET_CNI_CONFIG_DIR=/run/ab/net.d CTRNET_CNI_CACHE_DIR=/run/ab/cni-cache
mkdir -p "$CTRNET_CNI_CONFIG_DIR"
ip link set lo up
$C cni conflist ab --subnet 10.90.5.0/24 --ipam-data-dir /run/ab/ipam > "$CTRNET_CNI_CONFIG_DIR/ab.conflist"
$C create --network ab -p 127.0.0.1:18090:80 --ip 10.90.5.50 keep >/dev/null
$C create --network ab -p 127.0.0.1:18091:80 --ip 10.90.5.51 x >/dev/null; $C rm x >/dev/null
for i in 1 2 3 4 5 6 7 8 9 10; do
  s=$EPOCHREALTIME; $C create --network ab -p 127.0.0.1:18091:80 --ip 10.90.5.51 x >/dev/null; e=$EPOCHREALTIME
  $C rm x >/dev/null; f=$EPOCHREALTIME
  echo "$s $e $f" | awk '{printf "%.2f %.2f\n", ($2-$1)*1000, ($3-$2)*1000}'
done
$C rm keep >/dev/null
INNER
}
for _ in $(seq "$BLOCKS"); do block "$OLD" >>"$OUT/old"; block "$NEW" >>"$OUT/new"; done
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for v in old new; do
  echo "$v: create $(cut -d' ' -f1 "$OUT/$v" | median) ms, rm $(cut -d' ' -f2 "$OUT/$v" | median) ms ($(wc -l <"$OUT/$v") pairs)"
done
