#!/bin/sh
# Starts one Sentinel of the StatefulSet sentinel. Sentinel rewrites its config file, so it is written to the
# writable data directory first, naming the master the other Sentinels know, or the first master on the first start.
# The defaults are the StatefulSet's names; the variables let test/src/kubernetes-sentinel.test.ts run this script
# on loopback.
set -eu
SELF_HOST="${SELF_HOST:-$(hostname).sentinel}"
SELF_PORT="${SELF_PORT:-26379}"
FIRST_MASTER="${FIRST_MASTER:-redis-0.redis:6379}"
SENTINELS="${SENTINELS:-sentinel-0.sentinel:26379 sentinel-1.sentinel:26379 sentinel-2.sentinel:26379}"
DATA_DIR="${DATA_DIR:-/data}"

master=""
for sentinel in $SENTINELS; do
  [ "$sentinel" = "$SELF_HOST:$SELF_PORT" ] && continue
  answer="$(redis-cli -h "${sentinel%:*}" -p "${sentinel##*:}" --raw sentinel get-master-addr-by-name vallum 2>/dev/null | tr '\n' ':' || true)"
  case "$answer" in *:*[0-9]:) master="${answer%:}"; break ;; esac
done
[ -n "$master" ] || master="$FIRST_MASTER"

cat > "$DATA_DIR/sentinel.conf" <<CONF
port $SELF_PORT
${BIND:+bind $BIND}
dir $DATA_DIR
sentinel resolve-hostnames yes
sentinel announce-hostnames yes
sentinel announce-ip $SELF_HOST
sentinel monitor vallum ${master%:*} ${master##*:} 2
sentinel auth-pass vallum $REDIS_PASSWORD
sentinel down-after-milliseconds vallum ${DOWN_AFTER_MS:-5000}
sentinel failover-timeout vallum ${FAILOVER_TIMEOUT_MS:-60000}
sentinel parallel-syncs vallum 1
CONF
exec redis-sentinel "$DATA_DIR/sentinel.conf"
