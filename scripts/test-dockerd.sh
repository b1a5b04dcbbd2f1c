#!/usr/bin/env bash
# The private Docker engine of the source-docker tests: `start` runs a dockerd on its own socket, data root and
# bridge addresses and imports the septum-test/busybox image from the busybox-static binary (no registry is
# reachable, so nothing is ever pulled); `kill` stops the engine only; `stop` removes every container it ran and stops it. Run as root.
# --iptables=false matters: otherwise dockerd sets the FORWARD policy to DROP and breaks bridged namespace tests.
set -euo pipefail
SOCK=/run/sept-test-docker.sock
PIDFILE=/run/sept-test-docker.pid
DATA=/var/lib/sept-test-docker
EXEC=/run/sept-test-docker-exec
LOG=/tmp/sept-test-dockerd.log
IMAGE=septum-test/busybox
d() { docker -H "unix://$SOCK" "$@"; }
stop_engine() { # TERM to dockerd, then up to 30 s for it to go
  local pid
  [ -f "$PIDFILE" ] || return 0
  pid=$(cat "$PIDFILE")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
}

case "${1:-}" in
  start)
    if ! d version >/dev/null 2>&1; then
      command -v dockerd >/dev/null || { echo "test-dockerd: dockerd is not installed (apt-get install docker.io)" >&2; exit 2; }
      mkdir -p "$DATA" "$EXEC"
      setsid dockerd --iptables=false --ip6tables=false --host "unix://$SOCK" --data-root "$DATA" \
        --exec-root "$EXEC" --pidfile "$PIDFILE" --bip 10.198.250.1/24 >>"$LOG" 2>&1 < /dev/null &
      for _ in $(seq 1 150); do d version >/dev/null 2>&1 && break; sleep 0.2; done
      d version >/dev/null 2>&1 || { echo "test-dockerd: dockerd did not answer on $SOCK within 30s; see $LOG" >&2; tail -20 "$LOG" >&2; exit 1; }
    fi
    if ! d image inspect "$IMAGE" >/dev/null 2>&1; then
      bb=$(command -v busybox) || { echo "test-dockerd: busybox is not installed (apt-get install busybox-static)" >&2; exit 2; }
      root=$(mktemp -d /tmp/sept-test-rootfs.XXXXXX)
      trap 'rm -rf "$root"' EXIT
      mkdir -p "$root/bin" "$root/tmp" "$root/etc"
      cp "$bb" "$root/bin/busybox"
      for a in $("$bb" --list); do [ "$a" = busybox ] || ln -s busybox "$root/bin/$a"; done
      tar -C "$root" -c . | d import - "$IMAGE" >/dev/null
    fi
    ;;
  kill)
    # The engine goes away with its containers still defined (a crash or an upgrade): restart-policy ones come back.
    stop_engine
    ;;
  stop)
    if d version >/dev/null 2>&1; then
      ids=$(d ps -aq)
      [ -z "$ids" ] || d rm -f $ids >/dev/null
    fi
    stop_engine
    # dockerd leaves its bridge (and the route to its subnet) behind.
    if ! pgrep -F "$PIDFILE" >/dev/null 2>&1 && ip link show docker0 >/dev/null 2>&1; then ip link del docker0; fi
    ;;
  *) echo "usage: $0 start|kill|stop" >&2; exit 2 ;;
esac
