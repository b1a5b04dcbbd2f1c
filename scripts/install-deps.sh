#!/usr/bin/env bash
# Installs what Septum needs on a fresh Debian 12 machine (idempotent). Run as root.
set -euo pipefail
pkgs=(default-jdk-headless maven clang llvm libbpf-dev libbpf1 bpftool iproute2 socat curl iperf3 iptables netcat-openbsd procps docker.io busybox-static)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "septum: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# bpffs: the agent mounts it itself when missing; tests that drive the datapath directly need it too.
if ! mountpoint -q /sys/fs/bpf; then
  mount -t bpf bpf /sys/fs/bpf
fi
