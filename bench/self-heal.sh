#!/bin/sh
# Helpers that heal themselves, measured (root; everything inside private net + mount namespaces with a
# tmpfs /run): 6 created slirp4netns containers with a published port; the supervisor's memory and idle
# CPU; 10 kill -9 of slirp4netns / the forwarder of one of them, each timed until the port answers again.
# Usage: bench/self-heal.sh [dist/ctrnet]
B=$(realpath "${1:-dist/ctrnet}")
exec unshare --net --mount --propagation private sh -s "$B" <<'INNER'
set -u
B=$1
export CTRNET_ROOT=/run/sh-root CTRNET_NETNS_DIR=/run/sh-netns
mount -t tmpfs tmpfs /run && ip link set lo up
mkdir -p /run/www && echo hi > /run/www/index.html
now() { date +%s%N; }
ms() { echo $(( ($2 - $1) / 1000000 )); }
for i in 1 2 3 4 5 6; do $B create --network slirp4netns -p 127.0.0.1:$((18000+i)):80 c$i >/dev/null; done
sleep 1.5
sup=$(pgrep -f "$B _supervise$" | head -1)
echo "supervisor: $(awk '/VmRSS/{print $2}' /proc/$sup/status) kB RSS"
cpu0=$(awk '{print $14+$15}' /proc/$sup/stat); sleep 20; cpu1=$(awk '{print $14+$15}' /proc/$sup/stat)
echo "supervisor: $((cpu1-cpu0)) CPU ticks (of $(getconf CLK_TCK)/s) in 20 s idle, 6 containers"
ns=$(basename "$($B inspect c1 --format '{{.NetworkSettings.SandboxKey}}')")
$B netns exec "$ns" -- busybox httpd -f -p 80 -h /run/www & srv=$!
until curl -s -m 1 http://127.0.0.1:18001/ >/dev/null; do sleep 0.02; done
for kind in slirp4netns portForwarder slirp4netns portForwarder slirp4netns portForwarder slirp4netns portForwarder slirp4netns portForwarder; do
  pid=$($B inspect c1 --format "{{.Helpers.$kind.Pid}}")
  t0=$(now); kill -9 "$pid"
  until curl -s -m 1 http://127.0.0.1:18001/ >/dev/null; do sleep 0.01; done
  t1=$(now); echo "kill -9 $kind: the port answers again after $(ms "$t0" "$t1") ms"
done
echo "restarts: $($B inspect c1 --format '{{.Helpers.slirp4netns.Restarts}} {{.Helpers.portForwarder.Restarts}}')"
kill $srv; wait $srv 2>/dev/null
for i in 1 2 3 4 5 6; do $B rm c$i >/dev/null; done
pgrep -f "$B _" >/dev/null && echo "LEFT BEHIND" || echo "nothing left after rm"
INNER
