#!/bin/sh
# Starts one Sentinel of the StatefulSet sentinel. Sentinel rewrites its config file, so it is written to
# the pod's writable /data first, naming the master the other Sentinels know, or redis-0 on the first start.
set -eu
master=""
for i in 0 1 2; do
  answer="$(redis-cli -h "sentinel-$i.sentinel" -p 26379 --raw sentinel get-master-addr-by-name vallum 2>/dev/null | head -n 1 || true)"
  if [ -n "$answer" ]; then master="$answer"; break; fi
done
[ -n "$master" ] || master="redis-0.redis"
cat > /data/sentinel.conf <<CONF
port 26379
dir /data
sentinel resolve-hostnames yes
sentinel announce-hostnames yes
sentinel announce-ip $(hostname).sentinel
sentinel monitor vallum $master 6379 2
sentinel auth-pass vallum $REDIS_PASSWORD
sentinel down-after-milliseconds vallum 5000
sentinel failover-timeout vallum 60000
sentinel parallel-syncs vallum 1
CONF
exec redis-sentinel /data/sentinel.conf
