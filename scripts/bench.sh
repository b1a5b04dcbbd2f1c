#!/usr/bin/env bash
# Every benchmark in one run, and one table of goal, figure and verdict. Prints figures; it is not a test and stays
# out of the test suite. Run as root on Linux with the built distribution (scripts/build.sh) and what
# scripts/install-deps.sh installs, on a machine nothing else loads: every figure is a ratio to, or a difference
# from, a baseline measured in the same run, but a busy machine still moves them (the load average is printed).
#
#   sudo scripts/bench.sh [--quick] [--json FILE] [--tmpdir DIR]
#
#   --quick      shorter runs and one repetition each (about 3 minutes here), and no 1,000-endpoint latency run;
#                without it 3 repetitions and longer runs (about 15 minutes, plus the 1,000-endpoint run)
#   --json FILE  the figures as one JSON object (the keys below; null for one not measured), for comparing runs
#   --tmpdir DIR where the scripts' temp dirs (agent state, flow logs) go; default /tmp
#
# It runs, one after another, each with its own agent (their own output goes to a log file each, named at the end):
#   scripts/bench-datapath.sh  iperf3 with 10,000 policy entries against no program, a 10,000-rule iptables chain
#                              and a 10,000-port nftables set, and the BPF programs' CPU time per packet; policy import
#                              and revoke to enforcement, 100 endpoints (and, without --quick, import with 1,000
#                              endpoints, then the agent's RSS with them and a 10,000-entry policy under flow load)
#   scripts/bench-l7.sh        wrk through the L7 proxy at 16 and 64 connections against no policy
#   scripts/bench-flows.sh     the flow rate end to end from the BPF ring buffer, and what was dropped, as fast as two
#                              sender threads go and at a fixed 100k events/s
#   scripts/bench-startup.sh   the agent's start to ready and `septum status` against it (wall time)
# Not here: observe --since 5m over a 1 GiB flow log (FlowLogBenchmark, a JUnit benchmark: docs/benchmarks.md): its
# key is null, and so is the RSS with 1,000 endpoints with --quick.
set -Eeuo pipefail
export LC_ALL=C

QUICK=0
JSON=""
TMP_BASE=/tmp
usage() { sed -n '7,12p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case $1 in
    --quick) QUICK=1; shift ;;
    --json) [ $# -ge 2 ] || { echo "bench: --json needs a file" >&2; exit 2; }; JSON=$2; shift 2 ;;
    --tmpdir) [ $# -ge 2 ] || { echo "bench: --tmpdir needs a directory" >&2; exit 2; }; TMP_BASE=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
BENCH_TAG=bench
# shellcheck source=lib/bench-common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/bench-common.sh" # ROOT, DIST
bench_require "every benchmark needs network namespaces and BPF" ip jq
[ -d "$TMP_BASE" ] || die "--tmpdir $TMP_BASE is not a directory"
OUT=$(mktemp -d "$TMP_BASE/septum-bench-all.XXXXXX")
FIGURES="$OUT/figures" # what the steps that succeeded measured; each step writes its own file first
: >"$FIGURES"

if [ "$QUICK" = 1 ]; then
  STEPS=(
    "datapath|about a minute|bench-datapath.sh --entries 10000 --reps 1 --duration 3 --endpoints 100 --iterations 15 --skip-memory"
    "l7|about 90 s|bench-l7.sh --conns 16\ 64 --reps 1 --duration 5 --skip-loopback"
    "flows|about 40 s|bench-flows.sh --seconds 10 --flows 0"
    "startup|about a minute|bench-startup.sh --runs 5 --agent-starts 2"
  )
else
  STEPS=(
    "datapath|about 7 min|bench-datapath.sh --entries 10000 --reps 3 --duration 5 --endpoints 100 --iterations 50"
    "latency-1k|about 6 min|bench-datapath.sh --skip-throughput --endpoints 1000 --iterations 20"
    "l7|about 5 min|bench-l7.sh --conns 16\ 64 --reps 3 --duration 10 --skip-loopback"
    "flows|about 1 min|bench-flows.sh --seconds 20 --flows 0"
    "startup|about 3 min|bench-startup.sh --runs 15 --agent-starts 3"
  )
fi

LOAD_START=$(loadavg)
START_S=$SECONDS
FAILED=()
i=0
for step in "${STEPS[@]}"; do
  i=$((i + 1))
  IFS='|' read -r name took cmd <<<"$step"
  eval "args=($cmd)" # the commands above are this file's own words: quoting only, nothing from outside
  log "[$i/${#STEPS[@]}] $name ($took; load average $(loadavg)): scripts/${args[*]}"
  t0=$SECONDS
  : >"$OUT/$name.figures"
  if BENCH_FIGURES="$OUT/$name.figures" "$ROOT/scripts/${args[0]}" "${args[@]:1}" --tmpdir "$TMP_BASE" >"$OUT/$name.log" 2>&1; then
    cat "$OUT/$name.figures" >>"$FIGURES"
    log "[$i/${#STEPS[@]}] $name done in $((SECONDS - t0)) s"
  else
    log "[$i/${#STEPS[@]}] $name FAILED after $((SECONDS - t0)) s (its figures are missing): tail of $OUT/$name.log:"
    tail -n 5 "$OUT/$name.log" >&2
    FAILED+=("$name")
  fi
done

# KEY|GOAL|WHAT: the goals' keys, in the order of docs/benchmarks.md; GOAL is "<= N", ">= N" or "-" (a comparison, no goal of its own)
ROWS=(
  "throughput_10k_ratio|>= 0.95|iperf3, 10,000 policy entries / no program"
  "iptables_10k_ratio|-|iperf3, 10,000-rule iptables chain / no program"
  "nft_set_10k_ratio|-|iperf3, 10,000-port nftables set / no program"
  "bpf_to_ep_ns_per_packet_10k|-|CPU per run of septum_to_ep (ns; both veths, server with 10,000 entries)"
  "import_enforce_p99_ms|<= 50|policy import to enforced, 100 endpoints, p99"
  "revoke_p99_ms|<= 50|policy delete to revoked, 100 endpoints, p99"
  "import_enforce_1k_endpoints_p99_ms|<= 1000|policy import to enforced, 1,000 endpoints, p99"
  "start_to_ready_ms|<= 1500|agent JVM start to ready, median"
  "l7_rps_ratio_16|>= 0.5|L7 proxy requests/s / no policy, 16 connections"
  "l7_rps_ratio_64|>= 0.5|L7 proxy requests/s / no policy, 64 connections"
  "l7_agent_us_per_request|<= 20|agent CPU per proxied request (us), 16 connections"
  "l7_p99_added_ms|<= 2|p99 through the proxy minus p99 without, 16 connections"
  "flow_events_per_s|>= 300000|flows stored per second end to end"
  "flow_drop_ratio_at_100k|<= 0|events dropped at 100k/s"
  "flow_drop_ratio_at_max|<= 0.01|events dropped (ring and observer queue) at the maximum"
  "observe_since_5m_ms|<= 200|observe --since 5m over 1 GiB of flow log"
  "rss_mib_1k_endpoints|<= 256|agent peak RSS, 1,000 endpoints and 10,000 policy entries under flow load"
  "cli_status_ms|<= 250|septum status, wall time, median"
)
figure() { # KEY: its value, or NA when no step measured it or the value is not a number
  awk -v k="$1" '$1 == k {v = $2} END {print (v ~ /^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$/ ? v : "NA")}' "$FIGURES"
}

echo
echo "Septum benchmarks$( [ "$QUICK" = 1 ] && echo " (--quick)") — $(date -u '+%Y-%m-%d %H:%M UTC'), git $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo ?)"
echo "host: $(nproc) CPU(s), kernel $(uname -r); load average at the start $LOAD_START, at the end $(loadavg); took $((SECONDS - START_S)) s"
printf '%-36s %-9s %10s  %-7s %s\n' key goal figure verdict "what"
json="{}"
for row in "${ROWS[@]}"; do
  IFS='|' read -r key goal what <<<"$row"
  v=$(figure "$key")
  if [ "$v" = NA ]; then
    verdict="-"
    json=$(jq --arg k "$key" '. + {($k): null}' <<<"$json")
  else
    if [ "$goal" = "-" ]; then verdict="-"; else
      verdict=$(awk -v v="$v" -v op="${goal%% *}" -v g="${goal#* }" 'BEGIN {
        ok = (op == ">=") ? (v + 0 >= g + 0) : (v + 0 <= g + 0); print (ok ? "meets" : "misses") }')
    fi
    json=$(jq --arg k "$key" --argjson v "$v" '. + {($k): $v}' <<<"$json")
  fi
  printf '%-36s %-9s %10s  %-7s %s\n' "$key" "$goal" "$v" "$verdict" "$what"
done
echo "- under figure: not measured in this run (see the header of scripts/bench.sh); logs of each script: $OUT"
if [ -n "$JSON" ]; then
  jq --arg load "$LOAD_START" --argjson quick "$( [ "$QUICK" = 1 ] && echo true || echo false)" \
    '. + {load_average_start: $load, quick: $quick}' <<<"$json" >"$JSON"
  echo "figures written to $JSON"
fi
if [ ${#FAILED[@]} -gt 0 ]; then
  echo "failed: ${FAILED[*]} (their logs are in $OUT)" >&2
  exit 1
fi
