#!/usr/bin/env bash
# The README's first command: installs dependencies, builds Septum, starts the agent with its default
# configuration in the background, and runs the Star Wars demo (L3/L4) on real network-namespace endpoints.
#   scripts/quickstart.sh           build (unless already built), start the agent, run the demo, leave the agent up
#   scripts/quickstart.sh --rebuild force a rebuild
#   scripts/quickstart.sh --stop    stop the agent started here (its BPF programs stay attached, by design)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
septum="$root/distribution/target/septum/bin/septum"
log_dir=/var/log/septum
pid_file=/run/septum/septum.pid

[ "$(id -u)" = 0 ] || { echo "septum: needs root (eBPF, network namespaces): run with sudo" >&2; exit 1; }

stop_agent() {
  local pid
  pid=$(cat "$pid_file" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    echo "septum: agent stopped (its BPF programs stay attached and keep enforcing)" >&2
  fi
}

case "${1:-}" in
  --stop) stop_agent; exit 0 ;;
  --rebuild) rm -rf distribution/target/septum ;;
  "") ;;
  *) echo "usage: $0 [--rebuild|--stop]" >&2; exit 2 ;;
esac

scripts/install-deps.sh
if [ ! -x "$septum" ]; then
  echo "septum: building (first time takes a few minutes)..." >&2
  scripts/build.sh
fi

if ! "$septum" status >/dev/null 2>&1; then
  stop_agent
  mkdir -p "$log_dir"
  echo "septum: starting the agent (log: $log_dir/agent.log)..." >&2
  nohup "$septum" agent >"$log_dir/agent.log" 2>&1 &
  for i in $(seq 1 600); do
    if "$septum" status >/dev/null 2>&1; then break; fi
    if ! kill -0 $! 2>/dev/null; then echo "septum: the agent exited; see $log_dir/agent.log" >&2; tail -20 "$log_dir/agent.log" >&2; exit 1; fi
    sleep 0.1
  done
fi
"$septum" status
echo
"$septum" demo starwars
echo
echo "The agent keeps running. Try: $septum endpoint list | policy list | monitor"
echo "Stop it with: $0 --stop"
