#!/usr/bin/env bash
# A private etcd for tests and local trials (Debian's etcd-server, whose system service stays disabled): `start`
# runs etcd on loopback ports of its own with a temporary data dir and prints the client endpoint (plaintext: pass
# allowInsecure=true to Septum); `stop` kills it and removes the data dir; `endpoint` prints the endpoint again.
# PORT=... picks the client port (default: a free one); the peer port is the next free one.
# The JUnit tests of bundles/kvstore-etcd do not use this script: each test class starts and kills its own etcd.
set -euo pipefail
RUN=${SEPT_ETCD_RUN:-/tmp/sept-test-etcd}
# A random port in 20000-59999 that nothing listens on (ss is in iproute2).
free_port() {
  local p
  while :; do p=$((20000 + RANDOM % 40000)); [ -n "$(ss -Hltn "sport = :$p")" ] || { echo "$p"; return; }; done
}

case "${1:-}" in
  start)
    command -v etcd >/dev/null || { echo "test-etcd: etcd is not installed (apt-get install etcd-server)" >&2; exit 2; }
    if [ -f "$RUN/pid" ] && kill -0 "$(cat "$RUN/pid")" 2>/dev/null; then cat "$RUN/endpoint"; exit 0; fi
    mkdir -p "$RUN"
    client=${PORT:-$(free_port)}
    peer=$(free_port)
    data=$(mktemp -d "$RUN/data.XXXXXX")
    ep="http://127.0.0.1:$client"
    setsid etcd --name septum-test --data-dir "$data" \
      --listen-client-urls "$ep" --advertise-client-urls "$ep" \
      --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
      --initial-cluster "septum-test=http://127.0.0.1:$peer" >"$RUN/etcd.log" 2>&1 < /dev/null &
    echo $! > "$RUN/pid"
    echo "$data" > "$RUN/data"
    echo "$ep" > "$RUN/endpoint"
    for _ in $(seq 1 100); do curl -sf "$ep/health" >/dev/null 2>&1 && break; sleep 0.2; done
    curl -sf "$ep/health" >/dev/null || { echo "test-etcd: etcd did not answer on $ep within 20s; see $RUN/etcd.log" >&2; tail -20 "$RUN/etcd.log" >&2; exit 1; }
    echo "$ep"
    ;;
  endpoint)
    cat "$RUN/endpoint"
    ;;
  stop)
    if [ -f "$RUN/pid" ]; then
      pid=$(cat "$RUN/pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    [ ! -f "$RUN/data" ] || rm -rf "$(cat "$RUN/data")"
    rm -f "$RUN/pid" "$RUN/data" "$RUN/endpoint"
    ;;
  *) echo "usage: $0 start|endpoint|stop" >&2; exit 2 ;;
esac
