#!/usr/bin/env bash
# Installs what Septum needs on a fresh Debian 12 machine (idempotent). Run as root.
set -euo pipefail
pkgs=(default-jdk-headless maven clang llvm libbpf-dev libbpf1 bpftool iproute2 socat curl iperf3 wrk iptables netcat-openbsd procps docker.io busybox-static chromium libvirt-daemon libvirt-daemon-driver-lxc libvirt-clients etcd-server etcd-client openssl adduser python3 jq tmux dnsmasq-base nftables libseccomp-dev systemd)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The web UI's front-end is built by Maven with node and npm (Debian's nodejs and npm). A node from elsewhere
# (NodeSource's nodejs, which carries npm and conflicts with Debian's) is used as it is.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "septum: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # docker.io is here for the source-docker tests, which run their own dockerd (scripts/test-dockerd.sh, with
  # --iptables=false). The system engine the package would start sets the FORWARD policy to DROP and breaks the
  # bridged network-namespace tests: no service starts during this install, and docker's stays disabled.
  norc=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && norc=1
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || { [ -z "$norc" ] || rm -f /usr/sbin/policy-rc.d; exit 1; }
  [ -z "$norc" ] || rm -f /usr/sbin/policy-rc.d
  if [[ " ${missing[*]} " == *" docker.io "* ]] && command -v systemctl >/dev/null; then
    systemctl disable docker.service docker.socket >/dev/null 2>&1 || true
    echo "septum: docker.io installed for the tests; its system service is left disabled" >&2
  fi
  # The source-libvirt tests run their own libvirtd (scripts/test-libvirtd.sh, LXC driver only, private sockets).
  if [[ " ${missing[*]} " == *" libvirt-daemon "* ]] && command -v systemctl >/dev/null; then
    systemctl disable libvirtd.service libvirtd.socket libvirtd-ro.socket libvirtd-admin.socket >/dev/null 2>&1 || true
    echo "septum: libvirt-daemon installed for the tests; its system service is left disabled" >&2
  fi
  # The kvstore-etcd tests start their own etcd on loopback ports with a temporary data dir (scripts/test-etcd.sh does
  # the same by hand); a system etcd on :2379 is not needed and stays disabled.
  if [[ " ${missing[*]} " == *" etcd-server "* ]] && command -v systemctl >/dev/null; then
    systemctl disable etcd.service >/dev/null 2>&1 || true
    echo "septum: etcd-server installed for the tests; its system service is left disabled" >&2
  fi
fi
# bpffs: the agent mounts it itself when missing; tests that drive the datapath directly need it too.
if ! mountpoint -q /sys/fs/bpf; then
  mount -t bpf bpf /sys/fs/bpf
fi
