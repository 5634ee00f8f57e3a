#!/bin/sh
# Starts one Redis of the StatefulSet redis: as a replica of the master the Sentinels name, or, when no
# Sentinel answers yet (the first start of the set), pod 0 as the master and the others as its replicas.
set -eu
self="$(hostname).redis"
master=""
for i in 0 1 2; do
  answer="$(redis-cli -h "sentinel-$i.sentinel" -p 26379 --raw sentinel get-master-addr-by-name vallum 2>/dev/null | head -n 1 || true)"
  if [ -n "$answer" ]; then master="$answer"; break; fi
done
if [ -z "$master" ] && [ "$(hostname)" != "redis-0" ]; then master="redis-0.redis"; fi
set -- --port 6379 --dir /data --save "" --appendonly yes \
  --maxmemory 400mb --maxmemory-policy noeviction \
  --requirepass "$REDIS_PASSWORD" --masterauth "$REDIS_PASSWORD" \
  --replica-announce-ip "$self"
if [ -n "$master" ] && [ "$master" != "$self" ]; then set -- "$@" --replicaof "$master" 6379; fi
exec redis-server "$@"
