#!/usr/bin/env bash
# The private libvirtd of the source-libvirt tests: `start` runs a libvirtd with only the LXC driver on its own
# sockets in /run/sept-test-libvirt (URI lxc:///system?socket=/run/sept-test-libvirt/libvirt-sock); `kill` stops
# the daemon only (its running containers survive, as with a libvirtd restart); `stop` destroys every sept-t-*
# domain and stops it. Run as root. No system service is enabled or started.
#
# Why the private mount namespace: on a hybrid cgroup host (v1 controllers plus cgroup2 at /sys/fs/cgroup/unified)
# libvirt 9's LXC driver fails to mount the unified hierarchy inside the container ("Unable to create directory
# /sys/fs/cgroup/unified"); with that one mount hidden from libvirtd only, it uses the v1 controllers and works.
# Why LIBVIRT_DRIVER_DIR: Debian's libvirt-daemon also installs the QEMU driver, whose state initialisation fails
# without the libvirt-qemu user and takes the whole daemon down; the tests need LXC only.
set -euo pipefail
DIR=/run/sept-test-libvirt
URI="lxc:///system?socket=$DIR/libvirt-sock"
LOG=/tmp/sept-test-libvirtd.log
v() { virsh -q -c "$URI" "$@"; }

case "${1:-}" in
  start)
    if ! v version >/dev/null 2>&1; then
      command -v libvirtd >/dev/null || { echo "test-libvirtd: libvirtd is not installed (apt-get install libvirt-daemon libvirt-daemon-driver-lxc libvirt-clients)" >&2; exit 2; }
      mkdir -p "$DIR/drivers"
      ln -sf /usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_lxc.so "$DIR/drivers/"
      cat > "$DIR/libvirtd.conf" <<CONF
unix_sock_dir = "$DIR"
unix_sock_group = "root"
auth_unix_rw = "none"
auth_unix_ro = "none"
CONF
      cat > "$DIR/run.sh" <<RUN
#!/bin/sh
if grep -q ' /sys/fs/cgroup/unified cgroup2 ' /proc/self/mounts; then umount /sys/fs/cgroup/unified; fi
exec env LIBVIRT_DRIVER_DIR=$DIR/drivers libvirtd --config $DIR/libvirtd.conf --pid-file $DIR/libvirtd.pid
RUN
      chmod 755 "$DIR/run.sh"
      setsid unshare -m --propagation private "$DIR/run.sh" >>"$LOG" 2>&1 < /dev/null &
      for _ in $(seq 1 150); do v version >/dev/null 2>&1 && break; sleep 0.2; done
      v version >/dev/null 2>&1 || { echo "test-libvirtd: libvirtd did not answer on $DIR within 30s; see $LOG" >&2; tail -20 "$LOG" >&2; exit 1; }
    fi
    ;;
  kill)
    if [ -f "$DIR/libvirtd.pid" ]; then
      pid=$(cat "$DIR/libvirtd.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    fi
    ;;
  stop)
    if v version >/dev/null 2>&1; then
      for d in $(v list --all --name | grep '^sept-t' || true); do
        v destroy "$d" >/dev/null 2>&1 || true
        v undefine "$d" >/dev/null 2>&1 || true
      done
    fi
    "$0" kill
    ;;
  uri) echo "$URI" ;;
  *) echo "usage: $0 start|kill|stop|uri" >&2; exit 2 ;;
esac
