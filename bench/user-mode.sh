#!/bin/sh
# The user-mode network modes beside each other where bench section 2 does not look: traffic between the
# container and a remote host (a peer netns on a veth, the host's default gateway), a remote client on a
# published port, and the client address a server inside sees. Root; everything in private namespaces
# made here, gone when it ends. Usage: bench/user-mode.sh [SECONDS per iperf3 run, default 5]
# Prints one line per measurement: out MODE ->|-R RUN Gbit/s, in MODE RUN Gbit/s, peer MODE CLIENT -> ADDRESS.
set -u
if [ "${CTRNET_USER_MODE_BENCH:-}" != inside ]; then
  exec env CTRNET_USER_MODE_BENCH=inside unshare --net --mount --propagation private -- sh "$0" "$@"
fi
T=${1:-5}
B=$(cd "$(dirname "$0")/.." && pwd)/dist/ctrnet
mount -t tmpfs -o mode=0755 tmpfs /run
ip link set lo up
ip netns add peer
ip link add ph0 type veth peer name ph1
ip link set ph1 netns peer
ip addr add 192.0.2.1/24 dev ph0
ip link set ph0 up
ip -n peer addr add 192.0.2.2/24 dev ph1
ip -n peer link set ph1 up
ip -n peer link set lo up
ip route add default via 192.0.2.2 dev ph0
ip netns exec peer iperf3 -s -D -p 5201 -I /run/iperf-peer.pid
sleep 0.5
gbit() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(round(d["end"]["sum_received"]["bits_per_second"]/1e9,2))' 2>/dev/null || echo fail; }
for r in 1 2 3; do
  for mode in slirp4netns pasta; do
    for dir in "" "-R"; do
      v=$(timeout $((T + 20)) "$B" run --network $mode -- iperf3 -c 192.0.2.2 -p 5201 -t "$T" -J $dir | gbit)
      echo "out $mode ${dir:-->} run$r $v"
    done
  done
  for mode in slirp4netns slirp4netns:port_handler=slirp4netns pasta; do
    timeout $((T * 3 + 30)) "$B" run --network $mode -p 192.0.2.1:15201:5201 -- iperf3 -s -p 5201 >/dev/null 2>&1 &
    pid=$!
    v=fail
    for i in $(seq 50); do
      if ip netns exec peer timeout $((T + 10)) iperf3 -c 192.0.2.1 -p 15201 -t 1 >/dev/null 2>&1; then
        v=$(ip netns exec peer timeout $((T + 10)) iperf3 -c 192.0.2.1 -p 15201 -t "$T" -J | gbit)
        break
      fi
      sleep 0.2
    done
    echo "in $mode run$r $v"
    kill -TERM $pid
    wait $pid
  done
done
for mode in slirp4netns slirp4netns:port_handler=slirp4netns pasta; do
  for client in remote loopback; do
    if [ $client = remote ]; then host=192.0.2.1; pre="ip netns exec peer"; else host=127.0.0.1; pre=""; fi
    timeout 30 "$B" run --network $mode -p $host:18080:80 -- socat TCP-LISTEN:80,fork 'SYSTEM:echo $SOCAT_PEERADDR' >/dev/null 2>&1 &
    pid=$!
    seen=""
    for i in $(seq 20); do
      seen=$($pre timeout 3 socat -u TCP:$host:18080 - 2>/dev/null || true)
      [ -n "$seen" ] && break
      sleep 0.2
    done
    echo "peer $mode $client -> ${seen:-(no answer)}"
    kill -TERM $pid 2>/dev/null
    wait $pid
  done
done
kill "$(cat /run/iperf-peer.pid)"
