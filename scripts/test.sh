#!/usr/bin/env bash
# The README's test command: installs dependencies, builds, and runs every test (unit, Pax Exam, datapath with
# real packets between network namespaces, end-to-end against the real distribution). Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "septum: tests need root (eBPF, network namespaces): run with sudo" >&2; exit 1; }
scripts/install-deps.sh
exec mvn -B -ntp -Dstyle.color=never -Dseptum.e2e.required=true install "$@"
