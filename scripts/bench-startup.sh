#!/usr/bin/env bash
# Start-up benchmark (issue "Performance"): the wall time of CLI commands without and with the CLI's class-data
# archive (lib/septum-cli.jsa, made by bin/septum-cds), both measured in the same run, turn about, so that both see
# the same load; and the agent's start-to-ready. Prints figures; judges nothing; not part of the test suite. Needs
# the built distribution; the agent's part needs root (BPF) and is skipped otherwise or with --no-agent.
#
#   scripts/bench-startup.sh [--runs 15] [--agent-starts 3] [--no-agent] [--tmpdir DIR]
#
# Two private copies of the distribution: one without the archive (the baseline: the JDK's own archive only, as
# before) and one with an archive made for its path. Commands: septum --help, septum --version, septum status with
# no agent (the error path) and, with the agent, septum status against it. A run's time is the wall time of
# bin/septum, script and JVM, from bash's $EPOCHREALTIME; median and p90 are nearest-rank. Everything it makes
# (agent, pins under /sys/fs/bpf/septum-bstart-<id>, temp dir) is removed on exit, also on failure or Ctrl-C.
set -euo pipefail

RUNS=15
AGENT_STARTS=3
AGENT=1
TMP_BASE=/tmp

BENCH_TAG=bench-startup
# shellcheck source=lib/bench-common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/bench-common.sh" # ROOT, DIST
usage() { sed -n '2,13p' "$0"; }
bench_options see-help --runs=RUNS --agent-starts=AGENT_STARTS --no-agent:AGENT=0 --tmpdir=TMP_BASE -- "$@"
bench_range --runs "$RUNS" 1 1000
bench_range --agent-starts "$AGENT_STARTS" 1 100
bench_require_dist
if [ "$AGENT" = 1 ] && [ "$(id -u)" != 0 ]; then
  log "not root: the agent's part is skipped (it needs BPF)"
  AGENT=0
fi

bench_run_dir septum-bstart # RID, TMP
BPF_DIR="/sys/fs/bpf/septum-bstart-$RID"
SOCK="$TMP/run/septum.sock"
AGENT_PID=
REGISTERED=()
FAILED=1

cleanup() {
  bench_stop_agent
  bench_agent_log_tail 20
  case $BPF_DIR in /sys/fs/bpf/septum-bstart-????) rm -rf "$BPF_DIR" ;; esac
  case ${TMP##*/} in septum-bstart.??????) rm -rf "$TMP" ;; esac
}
bench_traps err

# ---------------------------------------------------------------------------------------------------------------
# The two installs: $TMP/septum (what bench_start_agent runs) without an archive, $TMP/septum-cds with one.
START_S=$SECONDS
LOAD_START=$(loadavg)
bench_copy_dist
"$TMP/septum/bin/septum-cds" --remove
cp -a "$TMP/septum" "$TMP/septum-cds"
log "making the CLI archive for $TMP/septum-cds"
"$TMP/septum-cds/bin/septum-cds" >&2
# -Xshare:on fails instead of falling back: proof that the archive is the one the commands below map
SEPTUM_JAVA_OPTS=-Xshare:on "$TMP/septum-cds/bin/septum" --version >/dev/null 2>&1 \
  || die "the archive made for $TMP/septum-cds is not usable by its own bin/septum"

run_ms() { # COMMAND...: "WALL CPU" of one run in ms, CPU being user + system time (output discarded; a failing
  # command is timed too). CPU time is the steadier figure on a loaded machine: it does not count the waits for a core.
  local TIMEFORMAT="%3R %3U %3S" t real user sys
  t=$({ time "$@" >/dev/null 2>&1; } 2>&1) || true
  read -r real user sys <<<"${t//./}"
  echo "$((10#$real)) $((10#$user + 10#$sys))"
}

stats() { # MS...: "median M, p90 P" (nearest rank)
  local sorted n
  mapfile -t sorted < <(printf '%s\n' "$@" | sort -n)
  n=${#sorted[@]}
  printf 'median %5d, p90 %5d' "${sorted[$(((n + 1) / 2 - 1))]}" "${sorted[$(((n * 9 + 9) / 10 - 1))]}"
}

ROWS=()
measure() { # LABEL ARGS...: RUNS runs of bin/septum ARGS in each install, turn about; two rows of the report
  local label=$1 i w c plain_wall=() plain_cpu=() cds_wall=() cds_cpu=()
  shift
  log "$label: $RUNS runs each (load average $(loadavg))"
  run_ms "$TMP/septum/bin/septum" "$@" >/dev/null # one unmeasured run each: the page cache, not the JVM
  run_ms "$TMP/septum-cds/bin/septum" "$@" >/dev/null
  for ((i = 0; i < RUNS; i++)); do
    read -r w c < <(run_ms "$TMP/septum/bin/septum" "$@")
    plain_wall+=("$w") plain_cpu+=("$c")
    read -r w c < <(run_ms "$TMP/septum-cds/bin/septum" "$@")
    cds_wall+=("$w") cds_cpu+=("$c")
  done
  ROWS+=("$(printf '%-26s wall ms: %s without archive, %s with' "$label" "$(stats "${plain_wall[@]}")" "$(stats "${cds_wall[@]}")")")
  ROWS+=("$(printf '%-26s CPU ms:  %s without archive, %s with' "" "$(stats "${plain_cpu[@]}")" "$(stats "${cds_cpu[@]}")")")
  CDS_MEDIAN=$(stats "${cds_wall[@]}" | awk '{print $2 + 0}') # as shipped: the build makes the archive
}

measure "septum --help" --help
measure "septum --version" --version
measure "septum status (no agent)" --socket "$TMP/none.sock" status

READY=()
if [ "$AGENT" = 1 ]; then
  for ((i = 0; i < AGENT_STARTS; i++)); do
    bench_start_agent
    READY+=("$AGENT_READY_MS")
    if [ "$i" -lt $((AGENT_STARTS - 1)) ]; then bench_stop_agent; fi
  done
  measure "septum status (agent)" --socket "$SOCK" status
  bench_figure cli_status_ms "$CDS_MEDIAN"
  bench_figure start_to_ready_ms "$(stats "${READY[@]}" | awk '{print $2 + 0}')"
fi
FAILED=0

# ---------------------------------------------------------------------------------------------------------------
echo
echo "Septum start-up benchmark — $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "host: $(nproc) CPU(s), kernel $(uname -r), $(java -version 2>&1 | sed -n 2p)"
echo "load average at the start: $LOAD_START, at the end: $(loadavg); took $((SECONDS - START_S)) s"
echo "distribution: $DIST (private copies; git $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo ?)), archive $(du -k "$TMP/septum-cds/lib/septum-cli.jsa" | cut -f1) KiB"
echo "bin/septum (script and JVM), $RUNS runs each; CPU = user + system:"
printf '  %s\n' "${ROWS[@]}"
if [ "$AGENT" = 1 ]; then
  echo "agent, JVM start to ready, $AGENT_STARTS start(s): ${READY[*]} ms ($(stats "${READY[@]}") ms)"
fi
