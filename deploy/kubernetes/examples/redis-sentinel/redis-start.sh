#!/bin/sh
# Starts one Redis of the StatefulSet redis: as a replica of the master the Sentinels name or, when no Sentinel
# answers (the first start of the set), as the master if this is pod 0 and as its replica otherwise.
# The defaults are the StatefulSet's names; the variables let test/src/kubernetes-sentinel.test.ts run this script
# on loopback.
set -eu
SELF_HOST="${SELF_HOST:-$(hostname).redis}"
SELF_PORT="${SELF_PORT:-6379}"
FIRST_MASTER="${FIRST_MASTER:-redis-0.redis:6379}"
SENTINELS="${SENTINELS:-sentinel-0.sentinel:26379 sentinel-1.sentinel:26379 sentinel-2.sentinel:26379}"
DATA_DIR="${DATA_DIR:-/data}"

# host:port of the master the first answering Sentinel names; empty when none is up or knows one yet.
ask_sentinels() {
  master=""
  for sentinel in $SENTINELS; do
    answer="$(redis-cli -h "${sentinel%:*}" -p "${sentinel##*:}" --raw sentinel get-master-addr-by-name vallum 2>/dev/null | tr '\n' ':' || true)"
    case "$answer" in *:*[0-9]:) master="${answer%:}"; return ;; esac
  done
}

ask_sentinels
# The Sentinels may still name this pod the master when it comes back without its data (a new pod, a new emptyDir).
# Started now, it would be an empty master the replicas copy: stay down until they have promoted a replica (bounded,
# within the startup probe's minute).
waited=0
while [ "$master" = "$SELF_HOST:$SELF_PORT" ] && [ ! -e "$DATA_DIR/appendonlydir" ] && [ "$waited" -lt "${FAILOVER_WAIT_SECONDS:-45}" ]; do
  sleep 1
  waited=$((waited + 1))
  ask_sentinels
done
[ -n "$master" ] || master="$FIRST_MASTER"

set -- --port "$SELF_PORT" --dir "$DATA_DIR" --save "" --appendonly yes \
  --maxmemory 400mb --maxmemory-policy noeviction \
  --requirepass "$REDIS_PASSWORD" --masterauth "$REDIS_PASSWORD" \
  --replica-announce-ip "$SELF_HOST"
[ -z "${BIND:-}" ] || set -- "$@" --bind "$BIND"
if [ "$master" != "$SELF_HOST:$SELF_PORT" ]; then set -- "$@" --replicaof "${master%:*}" "${master##*:}"; fi
exec redis-server "$@"
