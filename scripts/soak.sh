#!/usr/bin/env bash
# Bounded soak (issue 15): a private agent under every kind of load at once for a fixed time, sampled for growth.
# Run as root on Linux with the built distribution (mvn -B -o -pl distribution -am -DskipTests package).
#
#   sudo scripts/soak.sh --minutes N [--sample-seconds S] [--tmpdir DIR]
#
# For N minutes, all together (each loop bounded in time and in count):
#   endpoint churn  soak-churn (a netns endpoint) registered until ready, deleted until gone, again (pause 2 s)
#   policy churn    the server's policy re-imported every 5 s, alternating two versions (same allows, one rule
#                   that changes)
#   services        soak-allowed VIP:80 -> soak-server:8080, soak-denied VIP:80 -> soak-server:9090, and
#                   soak-churn VIP:80 -> the churned endpoint (its backend comes and goes)
#   L7 traffic      through the policy's HTTP rule (GET "/" on TCP 80, the agent's proxy): curl GET / and GET /other
#                   every second, and a 5 s wrk burst (4 connections) every 30 s
#   flow load       UDP datagrams the policy drops (scripts/bench/FlowLoad.java), 1 s bursts every 15 s
#   probes          from soak-client, every second per target: allowed TCP 8080 and soak-allowed's VIP (must
#                   connect within 2 s), denied TCP 9090 and soak-denied's VIP (must not connect within 0.5 s)
# Every S seconds (default 30) one sample: agent RSS, Java heap in use after a full GC (jcmd), open fds, threads,
# BPF map entries (hash and LRU maps under its pin directory), flow log and policy state on disk, WARN/ERROR lines
# of the agent's log, and the loops' counters; one table line each. At the end: a growth verdict per metric (mean of
# the second third of the samples against the last third; the first third is the warm-up), the safety checks, and
# a last line SUMMARY_JSON {...}. Exit 1 if a safety check fails or a metric grows beyond its tolerance.
# Everything it makes (agent, namespaces ssoak-<id>-*, veths, bridge ssk<id>, pins under
# /sys/fs/bpf/septum-soak-<id>, /etc/netns/ssoak-<id>-*, temp dir) is removed on exit, also on failure or Ctrl-C.
# Traffic stays in 10.196.<x>.0/24 between its own namespaces and its bridge.
# shellcheck disable=SC2016 # the single-quoted $2, $3 are awk fields (count, awk programs)
set -Eeuo pipefail
export LC_ALL=C

MINUTES=
SAMPLE_SECONDS=30
TMP_BASE=/tmp

usage() { sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case $1 in
    --minutes) MINUTES=${2:-}; shift 2 ;;
    --sample-seconds) SAMPLE_SECONDS=${2:-}; shift 2 ;;
    --tmpdir) TMP_BASE=${2:-}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "soak: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
[ -n "$MINUTES" ] || { echo "soak: --minutes is required" >&2; usage >&2; exit 2; }

BENCH_TAG=soak
# shellcheck source=lib/bench-common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/bench-common.sh" # ROOT, DIST
bench_range --minutes "$MINUTES" 1 720
bench_range --sample-seconds "$SAMPLE_SECONDS" 5 3600
SERVER_SRC="$ROOT/scripts/bench/HttpServer.java"
LOAD_SRC="$ROOT/scripts/bench/FlowLoad.java"

START_S=$SECONDS
LOAD_START=$(loadavg)
bench_require "network namespaces, BPF" ip ss socat curl jq wrk java javac jcmd bpftool timeout du
{ [ -f "$SERVER_SRC" ] && [ -f "$LOAD_SRC" ]; } || die "missing $SERVER_SRC or $LOAD_SRC"

# The flow log's retention for this run: small enough that the soak reaches it, so that its size shows the cap
# holding rather than a log still filling up (the defaults are 64 and 8).
FLOW_LOG_MAX_MIB=16
FLOW_LOG_SEGMENT_MIB=2

# ---- names and cleanup ---------------------------------------------------------------------------------------------
SUB=
unused() { # RID: no namespace, bridge or pins of that name; and SUB, a random 10.196.SUB.0/24 nothing routes yet
  SUB=$((1 + RANDOM % 250))
  bench_names_free "ssoak-$1-" "ssk$1" "/sys/fs/bpf/septum-soak-$1" && ! ip -4 route show | grep -q "^10\.196\.$SUB\."
}
bench_run_dir septum-soak unused # RID, TMP
BPF_DIR="/sys/fs/bpf/septum-soak-$RID"
BR="ssk$RID"
SOCK="$TMP/run/septum.sock"
NS_C="ssoak-$RID-client" NS_S="ssoak-$RID-server" NS_T="ssoak-$RID-churn"
HOST_IP="10.196.$SUB.254" CIP="10.196.$SUB.1" SIP="10.196.$SUB.2" TIP="10.196.$SUB.3"
VIP_ALLOWED="10.196.$SUB.100" VIP_DENIED="10.196.$SUB.101" VIP_CHURN="10.196.$SUB.102"
SERVICES=(soak-allowed soak-denied soak-churn)
NETNS_MADE=()
LINKS_MADE=()
# soak-churn from the start: the churn loop registers it in a subshell, and the agent's stop must delete it too
REGISTERED=(soak-churn)
AGENT_PID=
SERVER_PID=
WORKERS=()
SERVICES_MADE=0
FAILED=1
FAILURES=0

cleanup() {
  stop_workers
  if [ "$SERVICES_MADE" = 1 ] && [ -S "$SOCK" ]; then
    # through the agent, so that it takes them out of the maps and removes the hosts files it wrote
    local s
    for s in "${SERVICES[@]}"; do timeout 10 "$TMP/septum/bin/septum" --socket "$SOCK" service delete "$s" >/dev/null 2>&1; done
  fi
  bench_stop_agent
  bench_agent_log_tail 25
  [ -z "$SERVER_PID" ] || stop_pid "$SERVER_PID" 5
  local d left=""
  for d in /etc/netns/ssoak-"$RID"-*; do
    # shellcheck disable=SC2254 # a pattern: only this run's directories
    case $d in /etc/netns/ssoak-$RID-*) rm -rf "$d" ;; esac
  done
  compgen -G "/etc/netns/ssoak-$RID-*" >/dev/null && left+=" /etc/netns/ssoak-$RID-*"
  bench_remove_topology "ssoak-$RID-" '/sys/fs/bpf/septum-soak-????' 'septum-soak.??????' "$left"
}
bench_traps err

cli() { timeout 60 "$TMP/septum/bin/septum" --socket "$SOCK" "$@"; }

check() { # NAME OK(0/1) TEXT: one verdict line; a failed check makes the run fail at the end
  if [ "$2" = 1 ]; then echo "  PASS $1: $3"; else echo "  FAIL $1: $3"; FAILURES=$((FAILURES + 1)); fi
  CHECKS+=",\"$1\":$([ "$2" = 1 ] && echo true || echo false)"
}
CHECKS=

until_ok() { # TIMEOUT_S CMD...: runs CMD until it succeeds (true) or TIMEOUT_S passed (false); for the loops, which
             # must not die() on one slow answer
  local t0=$SECONDS
  until "${@:2}"; do
    [ $((SECONDS - t0)) -lt "$1" ] || return 1
    sleep 0.2
  done
}

# ---- topology, server, policies, services ------------------------------------------------------------------------
make_topology() {
  bench_bridge "$HOST_IP/24"
  NETNS_MADE+=("$NS_C" "$NS_S" "$NS_T")
  LINKS_MADE+=("ssk${RID}c" "ssk${RID}s" "ssk${RID}t")
  bench_add_node "$NS_C" "ssk${RID}c" "$CIP"
  bench_add_node "$NS_S" "ssk${RID}s" "$SIP"
  bench_add_node "$NS_T" "ssk${RID}t" "$TIP"
}

start_servers() { # HTTP on 80 (the L7 rule's port), plain TCP sinks on 8080 (allowed) and 9090 (denied)
  ip netns exec "$NS_S" java -XX:+UseSerialGC -Xmx64m "$SERVER_SRC" 0.0.0.0 80 1 >"$TMP/server.log" 2>&1 &
  SERVER_PID=$!
  wait_listening "$NS_S" 80 60
  bench_tcp_sinks "$NS_S" "$SIP" 8080 9090
}

policy_doc() { # VARIANT FILE: soak-client may reach soak-server on 8080, and on 80 with GET "/" only (through the
               # proxy); a third rule changes with VARIANT
  cat >"$2" <<EOF
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: soak-server
  namespace: default
spec:
  endpointSelector:
    matchLabels:
      app: soak-server
  ingress:
  - fromEndpoints:
    - matchLabels:
        app: soak-client
    toPorts:
    - ports:
      - port: "8080"
        protocol: TCP
  - fromEndpoints:
    - matchLabels:
        app: soak-client
    toPorts:
    - ports:
      - port: "80"
        protocol: TCP
      rules:
        http:
        - method: "GET"
          path: "/"
  - fromEndpoints:
    - matchLabels:
        app: soak-other-$1
    toPorts:
    - ports:
      - port: "$((7000 + $1))"
        protocol: TCP
EOF
}

http_code() { # PATH: the HTTP status of a GET from soak-client to the server (000: no answer within 5 s)
  ip netns exec "$NS_C" curl -s -o /dev/null --max-time 5 -w '%{http_code}' "http://$SIP$1" 2>/dev/null || true
}

http_is() { [ "$(http_code "$1")" = "$2" ]; } # PATH CODE

setup() {
  make_topology
  start_servers
  bench_copy_dist
  printf 'logMaxMiB=%s\nlogSegmentMiB=%s\n' "$FLOW_LOG_MAX_MIB" "$FLOW_LOG_SEGMENT_MIB" >"$TMP/septum/etc/io.septum.observer.cfg"
  mkdir -p "$TMP/classes" "$TMP/docs"
  # compiled once: a burst then costs a JVM start, not a compilation
  javac -d "$TMP/classes" "$LOAD_SRC"
  policy_doc 0 "$TMP/docs/a.yaml"
  policy_doc 1 "$TMP/docs/b.yaml"
  bench_start_agent
  register soak-client "ssk${RID}c" "$NS_C" "$CIP"
  register soak-server "ssk${RID}s" "$NS_S" "$SIP"
  wait_ready soak- 2 60
  bench_wait_proxy_ok
  local r
  r=$(import_policy "$TMP/docs/a.yaml")
  wait_revision soak- "$r" 60
  SERVICES_MADE=1
  cli service add soak-allowed --frontend "$VIP_ALLOWED:80" --backend soak-server:8080 >/dev/null
  cli service add soak-denied --frontend "$VIP_DENIED:80" --backend soak-server:9090 >/dev/null
  cli service add soak-churn --frontend "$VIP_CHURN:80" --backend soak-churn:8080 >/dev/null
  # everything as the policy says before the load starts
  until_ok 20 connects "$SIP" 8080 1 || die "soak-client cannot reach soak-server:8080 with the policy in place"
  until_ok 20 connects "$VIP_ALLOWED" 80 1 || die "soak-client cannot reach soak-allowed ($VIP_ALLOWED:80)"
  until_ok 20 http_is / 200 || die "GET / through the proxy does not answer 200"
  until_ok 20 http_is /other 403 || die "GET /other through the proxy is not refused with 403"
  port_dropped "$NS_C" "$SIP" 9090 || die "soak-server:9090 is reachable from soak-client with the policy in place"
  port_dropped "$NS_C" "$VIP_DENIED" 80 || die "soak-denied ($VIP_DENIED:80 -> 9090) is reachable from soak-client"
  log "ready: soak-client $CIP -> soak-server $SIP (8080 and GET / on 80 allowed, 9090 denied), services on $VIP_ALLOWED, $VIP_DENIED, $VIP_CHURN"
}

connects() { # IP PORT SECONDS: a TCP connect from soak-client succeeds within SECONDS
  ip netns exec "$NS_C" timeout "$3" bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

# ---- the loops: each in the background, until $TMP/stop exists, END_S passed or its count is reached ---------------
running() { [ ! -e "$TMP/stop" ] && [ "$SECONDS" -lt "$END_S" ]; }

churn_loop() { # one line per cycle in churn.log: "EPOCH ok|fail MS"
  local i=0 t0 ok
  while running && [ "$i" -lt 100000 ]; do
    i=$((i + 1))
    t0=$(date +%s%N) ok=ok
    if ! API_TIMEOUT=20 register soak-churn "ssk${RID}t" "$NS_T" "$TIP" 2>>"$TMP/churn.err" \
       || ! until_ok 30 churn_state '"state":"ready"'; then
      ok=fail
    fi
    API_TIMEOUT=20 api DELETE /v1/endpoints/default%2Fsoak-churn >/dev/null 2>>"$TMP/churn.err" || ok=fail
    until_ok 30 churn_gone || ok=fail
    echo "$EPOCHSECONDS $ok $((($(date +%s%N) - t0) / 1000000))" >>"$TMP/churn.log"
    sleep 2
  done
}
churn_state() { endpoints_json 2>/dev/null | grep '"name":"soak-churn"' | grep -q "$1"; }
churn_gone() { ! endpoints_json 2>/dev/null | grep -q '"name":"soak-churn"'; }

policy_loop() { # one line per import in policy.log: "EPOCH ok|fail REVISION"
  local i=0 r
  while running && [ "$i" -lt 100000 ]; do
    i=$((i + 1))
    if r=$(API_TIMEOUT=20 import_policy "$TMP/docs/$([ $((i % 2)) = 0 ] && echo b || echo a).yaml" 2>>"$TMP/policy.err"); then
      echo "$EPOCHSECONDS ok $r" >>"$TMP/policy.log"
    else
      echo "$EPOCHSECONDS fail -" >>"$TMP/policy.log"
    fi
    sleep 5
  done
}

l7_loop() { # one line per request in l7.log: "EPOCH PATH CODE"; wrk bursts in wrk.log
  local i=0
  while running && [ "$i" -lt 1000000 ]; do
    i=$((i + 1))
    echo "$EPOCHSECONDS / $(http_code /)" >>"$TMP/l7.log"
    echo "$EPOCHSECONDS /other $(http_code /other)" >>"$TMP/l7.log"
    if [ $((i % 30)) = 15 ]; then
      timeout 40 ip netns exec "$NS_C" wrk -t 1 -c 4 -d 5s --timeout 5s "http://$SIP/" >>"$TMP/wrk.log" 2>&1 || echo "wrk failed" >>"$TMP/wrk.log"
    fi
    sleep 1
  done
}

flow_loop() { # 1 s bursts of UDP datagrams to soak-server:9 (dropped by its policy) every 15 s; "EPOCH SENT" in flows.log
  local i=0 out
  while running && [ "$i" -lt 100000 ]; do
    i=$((i + 1))
    out=$(timeout 30 ip netns exec "$NS_C" java -XX:TieredStopAtLevel=1 -Xmx32m -cp "$TMP/classes" FlowLoad "$SIP" 9 1 64 2>>"$TMP/flows.err") || out="0 0"
    echo "$EPOCHSECONDS ${out%% *}" >>"$TMP/flows.log"
    sleep 14
  done
}

probe_loop() { # NAME IP PORT TIMEOUT: one line per connect in probes.log: "EPOCH NAME RC" (0: connected)
  local i=0 rc
  while running && [ "$i" -lt 1000000 ]; do
    i=$((i + 1))
    rc=0
    connects "$2" "$3" "$4" || rc=$?
    echo "$EPOCHSECONDS $1 $rc" >>"$TMP/probes.log"
    sleep 1
  done
}

start_workers() {
  : >"$TMP/churn.log"; : >"$TMP/policy.log"; : >"$TMP/l7.log"; : >"$TMP/wrk.log"; : >"$TMP/flows.log"; : >"$TMP/probes.log"
  churn_loop & WORKERS+=($!)
  policy_loop & WORKERS+=($!)
  l7_loop & WORKERS+=($!)
  flow_loop & WORKERS+=($!)
  probe_loop allowed-8080 "$SIP" 8080 2 & WORKERS+=($!)
  probe_loop allowed-svc "$VIP_ALLOWED" 80 2 & WORKERS+=($!)
  probe_loop denied-9090 "$SIP" 9090 0.5 & WORKERS+=($!)
  probe_loop denied-svc "$VIP_DENIED" 80 0.5 & WORKERS+=($!)
}

stop_workers() { # each finishes its step (at most about 45 s: a wrk burst), then is killed
  [ "${#WORKERS[@]}" -gt 0 ] || return 0
  touch "$TMP/stop"
  local p t0=$SECONDS
  for p in "${WORKERS[@]}"; do
    while kill -0 "$p" 2>/dev/null && [ $((SECONDS - t0)) -lt 45 ]; do sleep 0.2; done
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  WORKERS=()
}

# ---- samples -------------------------------------------------------------------------------------------------------
LOG_RE='^(WARN|ERROR)|[[:space:]](WARN|WARNING|ERROR|SEVERE)[[:space:]]'

heap_mib() { # the agent's Java heap in use after a full GC (the live set), MiB; "NA" when jcmd cannot attach
  local out
  timeout 60 jcmd "$AGENT_PID" GC.run >/dev/null 2>&1 || { echo NA; return; }
  out=$(timeout 60 jcmd "$AGENT_PID" GC.heap_info 2>/dev/null) || { echo NA; return; }
  # the generations' (or G1's) "total ..K, used ..K" lines; Metaspace has no "total"
  awk '/total/ && /used/ {for (i = 1; i < NF; i++) if ($i == "used") {v = $(i + 1); sub(/K,?$/, "", v); s += v}}
       END {if (s) printf "%.1f", s / 1024; else print "NA"}' <<<"$out"
}

bpf_entries() { # T: "STATE LRU": entries of the pinned maps under BPF_DIR, the LRU hashes apart (conntrack and the
                # LB's: they fill up by design and evict); one "T MAP TYPE ENTRIES MAX" line per map in bpf.tsv.
                # Arrays hold all their slots and ring buffers no entries: not counted.
  local f info type max c st=0 lru=0
  while IFS= read -r f; do
    info=$(bpftool -j map show pinned "$f" 2>/dev/null) || continue
    type=$(jq -r .type <<<"$info") max=$(jq -r .max_entries <<<"$info")
    case $type in *hash*|lpm_trie) ;; *) continue ;; esac
    c=$(timeout 30 bpftool -j map dump pinned "$f" 2>/dev/null | jq length 2>/dev/null) || c=
    c=${c:-0}
    echo "$1 ${f##*/} $type $c $max" >>"$TMP/bpf.tsv"
    case $type in lru*) lru=$((lru + c)) ;; *) st=$((st + c)) ;; esac
  done < <(find "$BPF_DIR" -type f 2>/dev/null | sort)
  echo "$st $lru"
}

count() { # FILE AWK_CONDITION: lines of FILE that match
  awk "$2 {n++} END {print n + 0}" "$1" 2>/dev/null || echo 0
}

COLS="t_s rss_mib heap_mib fds threads bpf_state bpf_lru flowlog_kib policy_kib log_warn churn imports l7_req allowed_fail denied_open"
sample() { # one line of the table (and of samples.tsv)
  local st rss thr fds heap bpf lru fl pol warn t
  t=$((SECONDS - SOAK_START))
  st=$(cat "/proc/$AGENT_PID/status" 2>/dev/null) || die "the agent (pid $AGENT_PID) is gone"
  rss=$(awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' <<<"$st")
  thr=$(awk '/^Threads/ {print $2}' <<<"$st")
  fds=$(find "/proc/$AGENT_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
  heap=$(heap_mib)
  read -r bpf lru < <(bpf_entries "$t")
  fl=$(du -sk "$TMP/state/flows" 2>/dev/null | cut -f1) || fl=0
  pol=$(du -sk "$TMP/state/policies" 2>/dev/null | cut -f1) || pol=0
  warn=$(grep -cE "$LOG_RE" "$TMP/agent.log" || true)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$rss" "$heap" "$fds" "$thr" "$bpf" "$lru" "${fl:-0}" "${pol:-0}" "$warn" \
    "$(count "$TMP/churn.log" 1)" "$(count "$TMP/policy.log" 1)" "$(count "$TMP/l7.log" 1)" "$(allowed_failed)" "$(denied_open)" >>"$TMP/samples.tsv"
  local row
  IFS=$'\t' read -r -a row < <(tail -n 1 "$TMP/samples.tsv")
  # shellcheck disable=SC2059 # the format is ours
  printf "$ROW_FMT" "${row[@]}" "$(date -u +%H:%M:%S)"
}

allowed_failed() { # allowed probes that did not connect, and L7 GET / that did not answer 200
  echo $(($(count "$TMP/probes.log" '$2 ~ /^allowed/ && $3 != 0') + $(count "$TMP/l7.log" '$2 == "/" && $3 != 200')))
}
denied_open() { # denied probes that connected, and L7 GET /other that the server answered
  echo $(($(count "$TMP/probes.log" '$2 ~ /^denied/ && $3 == 0') + $(count "$TMP/l7.log" '$2 == "/other" && $3 == 200')))
}

ROW_FMT='%6s %8s %8s %5s %7s %7s %7s %8s %8s %6s %6s %7s %7s %6s %6s  %s\n'
table_head() {
  # shellcheck disable=SC2059 # the format is ours
  printf "$ROW_FMT" t_s rss_MiB heap_MiB fds threads bpf_st bpf_lru \
    flow_KiB pol_KiB warns churn imports l7_req a_fail d_open time
}

# ---- the verdicts --------------------------------------------------------------------------------------------------
# Growth: the median of the last third of the samples against the median of the second third (the first third is
# the warm-up). Medians, not means: a sample taken during a flow burst sees the observer's bounded queue full, a
# moment's peak that says nothing about growth. A metric "grows" when last - second > max(ABS, REL% of second).
TOLERANCES="rss_mib:10:16 heap_mib:10:4 fds:5:5 threads:5:3 bpf_state:5:16"
col_of() { tr ' ' '\n' <<<"$COLS" | grep -nx "$1" | cut -d: -f1; } # COLUMN_NAME: its number in samples.tsv

trend() { # COLUMN_NAME REL_PCT ABS: prints "second last verdict", verdict "no-growth", "GROWS" or "NA"
  awk -F'\t' -v c="$(col_of "$1")" -v rel="$2" -v abs="$3" '
    function median(lo, hi,   i, j, t, m, w) {
      m = 0
      for (i = lo; i <= hi; i++) {if (v[i] == "NA") return "NA"; w[++m] = v[i] + 0}
      for (i = 2; i <= m; i++) {t = w[i]; for (j = i - 1; j >= 1 && w[j] > t; j--) w[j + 1] = w[j]; w[j + 1] = t}
      return (m % 2) ? w[(m + 1) / 2] : (w[m / 2] + w[m / 2 + 1]) / 2
    }
    {v[NR] = $c}
    END {
      n = NR; k = int(n / 3)
      if (k < 1) {print "NA NA NA"; exit}
      a = median(k + 1, 2 * k); b = median(n - k + 1, n)
      if (a == "NA" || b == "NA") {print "NA NA NA"; exit}
      tol = rel * a / 100; if (tol < abs) tol = abs
      printf "%.1f %.1f %s\n", a, b, (b - a > tol) ? "GROWS" : "no-growth"
    }' "$TMP/samples.tsv"
}

col_max() { # COLUMN_NAME: the largest value over all samples
  awk -F'\t' -v c="$(col_of "$1")" '$c > m {m = $c} END {print m + 0}' "$TMP/samples.tsv"
}

verdicts() {
  local t name rel abs a b v json=""
  echo "growth after the warm-up: median of the second third of the samples -> median of the last third"
  for t in $TOLERANCES; do
    IFS=: read -r name rel abs <<<"$t"
    read -r a b v < <(trend "$name" "$rel" "$abs")
    printf '  %-12s %10s -> %-10s %-9s (tolerance: +%s%% or +%s, the larger)\n' "$name" "$a" "$b" "$v" "$rel" "$abs"
    json+=",\"$name\":{\"second_third\":$( [ "$a" = NA ] && echo null || echo "$a"),\"last_third\":$( [ "$b" = NA ] && echo null || echo "$b"),\"verdict\":\"$v\"}"
    if [ "$v" = GROWS ]; then FAILURES=$((FAILURES + 1)); fi
    if [ "$v" = NA ]; then log "no verdict for $name (too few samples, or no figure)"; fi
  done
  # the flow log fills up to its cap by design: its verdict is that it stays under the cap (plus the segment being
  # written), not that it is flat
  local fmax cap=$(((FLOW_LOG_MAX_MIB + FLOW_LOG_SEGMENT_MIB) * 1024))
  fmax=$(col_max flowlog_kib)
  read -r a b _ < <(trend flowlog_kib 0 0)
  v=$([ "$fmax" -le "$cap" ] && echo bounded || echo OVER-CAP)
  printf '  %-12s %10s -> %-10s %-9s (largest %s KiB; cap logMaxMiB %s + a %s MiB segment = %s KiB)\n' flowlog_kib "$a" "$b" "$v" "$fmax" "$FLOW_LOG_MAX_MIB" "$FLOW_LOG_SEGMENT_MIB" "$cap"
  [ "$v" = bounded ] || FAILURES=$((FAILURES + 1))
  json+=",\"flowlog_kib\":{\"second_third\":${a/NA/null},\"last_third\":${b/NA/null},\"max\":$fmax,\"cap_kib\":$cap,\"verdict\":\"$v\"}"
  # conntrack and the LB's maps are LRU hashes: they keep entries until evicted (TCP conntrack entries live 6 h), so
  # they fill with every new connection up to max_entries by design
  local lmax
  read -r a b _ < <(trend bpf_lru 0 0)
  lmax=$(awk -v t="$(tail -n 1 "$TMP/samples.tsv" | cut -f1)" '$1 == t && $3 ~ /^lru/ {m += $5} END {print m + 0}' "$TMP/bpf.tsv")
  printf '  %-12s %10s -> %-10s %-9s (LRU maps: fill up by design, evict at max_entries, %s in all)\n' bpf_lru "$a" "$b" info "$lmax"
  json+=",\"bpf_lru\":{\"second_third\":${a/NA/null},\"last_third\":${b/NA/null},\"max_entries\":$lmax,\"verdict\":\"info\"}"
  echo "BPF maps: entries at the first sample, at the end of the warm-up, at the last sample (max_entries)"
  awk '{c[$2, $1] = $4; ty[$2] = $3; mx[$2] = $5; if (!($2 in seen)) {seen[$2]; o[++m] = $2}; if (!($1 in st)) {st[$1]; ts[++n] = $1}}
       END {w = ts[int(n / 3) > 0 ? int(n / 3) : 1]
            for (i = 1; i <= m; i++) printf "  %-24s %-14s %7s %7s %7s  (%s)\n", o[i], ty[o[i]], c[o[i], ts[1]] + 0, c[o[i], w] + 0, c[o[i], ts[n]] + 0, mx[o[i]]}' "$TMP/bpf.tsv"
  # informational: the policy history keeps its last 2000 changes by design, so the state grows with every import
  read -r a b _ < <(trend policy_kib 0 0)
  printf '  %-12s %10s -> %-10s %-9s (grows by design: the policy history keeps the last 2000 changes)\n' policy_kib "$a" "$b" info
  json+=",\"policy_kib\":{\"second_third\":${a/NA/null},\"last_third\":${b/NA/null},\"verdict\":\"info\"}"
  read -r a b _ < <(trend log_warn 0 0)
  printf '  %-12s %10s -> %-10s %-9s (cumulative WARN/ERROR lines of the agent log)\n' log_warn "$a" "$b" info
  METRICS_JSON=${json#,}
}

safety() {
  local k n bad json=""
  echo "safety checks (whole run, warm-up included)"
  for k in allowed-8080 allowed-svc denied-9090 denied-svc; do
    n=$(count "$TMP/probes.log" "\$2 == \"$k\"")
    case $k in
      allowed*) bad=$(count "$TMP/probes.log" "\$2 == \"$k\" && \$3 != 0"); check "${k/-/_}_ok" "$([ "$bad" = 0 ] && [ "$n" -gt 0 ] && echo 1 || echo 0)" "$bad of $n probes failed to connect within 2 s" ;;
      denied*) bad=$(count "$TMP/probes.log" "\$2 == \"$k\" && \$3 == 0"); check "${k/-/_}_closed" "$([ "$bad" = 0 ] && [ "$n" -gt 0 ] && echo 1 || echo 0)" "$bad of $n probes connected" ;;
    esac
    json+=",\"probes_${k/-/_}\":$n,\"probes_${k/-/_}_bad\":$bad"
  done
  n=$(count "$TMP/l7.log" '$2 == "/"'); bad=$(count "$TMP/l7.log" '$2 == "/" && $3 != 200')
  check l7_allowed_ok "$([ "$bad" = 0 ] && [ "$n" -gt 0 ] && echo 1 || echo 0)" "$bad of $n GET / did not answer 200 ($(awk '$2 == "/" && $3 != 200 {print $3}' "$TMP/l7.log" | sort | uniq -c | xargs))"
  json+=",\"l7_get_allowed\":$n,\"l7_get_allowed_bad\":$bad"
  n=$(count "$TMP/l7.log" '$2 == "/other"'); bad=$(count "$TMP/l7.log" '$2 == "/other" && $3 != 403')
  local open
  open=$(count "$TMP/l7.log" '$2 == "/other" && $3 == 200')
  check l7_denied_refused "$([ "$open" = 0 ] && [ "$n" -gt 0 ] && echo 1 || echo 0)" "$open of $n GET /other reached the server; $bad not answered 403 ($(awk '$2 == "/other" && $3 != 403 {print $3}' "$TMP/l7.log" | sort | uniq -c | xargs))"
  json+=",\"l7_get_denied\":$n,\"l7_get_denied_open\":$open"
  n=$(count "$TMP/churn.log" 1); bad=$(count "$TMP/churn.log" '$2 != "ok"')
  check churn_ok "$([ "$bad" = 0 ] && [ "$n" -gt 0 ] && echo 1 || echo 0)" "$bad of $n add+delete cycles failed (median $(awk '{print $3}' "$TMP/churn.log" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)] + 0}') ms per cycle)"
  json+=",\"churn_cycles\":$n,\"churn_failed\":$bad"
  n=$(count "$TMP/policy.log" 1); bad=$(count "$TMP/policy.log" '$2 != "ok"')
  check imports_ok "$([ "$bad" = 0 ] && [ "$n" -gt 0 ] && echo 1 || echo 0)" "$bad of $n imports refused (last revision $(awk '$2 == "ok" {r = $3} END {print r + 0}' "$TMP/policy.log"))"
  json+=",\"imports\":$n,\"imports_failed\":$bad"
  SAFETY_JSON=${json#,}
}

load_figures() { # what the loops did, beyond the checks
  local sent wrk_req wrk_bad st
  sent=$(awk '{s += $2} END {print s + 0}' "$TMP/flows.log")
  wrk_req=$(awk '$2 == "requests" && $3 == "in" {s += $1} END {print s + 0}' "$TMP/wrk.log")
  wrk_bad=$(awk '/Non-2xx or 3xx responses:/ {n += $NF} /Socket errors:/ {gsub(/,/, ""); n += $4 + $6 + $8 + $10} /wrk failed/ {n++} END {print n + 0}' "$TMP/wrk.log")
  st=$(API_TIMEOUT=10 api GET /v1/status 2>/dev/null) || st='{}'
  echo "load: $(count "$TMP/flows.log" 1) flow bursts, $sent datagrams dropped by policy; $(count "$TMP/wrk.log" '/requests in/') wrk bursts, $wrk_req requests through the proxy, $wrk_bad non-2xx/socket errors"
  echo "observer: $(jq -c '[.. | objects | with_entries(select(.key | test("^(seenFlows|lostEvents|queueDropped)$")))] | add // {}' <<<"$st" 2>/dev/null || echo '?')"
  LOAD_JSON="\"datagrams\":$sent,\"wrk_requests\":$wrk_req,\"wrk_errors\":$wrk_bad"
}

# ---- main ----------------------------------------------------------------------------------------------------------
log "run $RID: $MINUTES minute(s), a sample every $SAMPLE_SECONDS s; load average at the start: $LOAD_START (a shared machine: see the end)"
echo "uptime at the start: $(uptime)"
setup
SOAK_START=$SECONDS
END_S=$((SOAK_START + MINUTES * 60))
start_workers
table_head
next=$((SOAK_START + SAMPLE_SECONDS))
while [ "$next" -le "$END_S" ]; do
  while [ "$SECONDS" -lt "$next" ]; do sleep 1; done
  sample
  next=$((next + SAMPLE_SECONDS))
done
stop_workers
echo
echo "uptime at the end: $(uptime)"
echo "agent: $AGENT_VERSION, pid $AGENT_PID, private copy of $DIST (git $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo ?)); $(nproc) CPU(s), kernel $(uname -r)"
echo "samples: $(count "$TMP/samples.tsv" 1) every $SAMPLE_SECONDS s over $MINUTES minute(s); heap: used after a full GC (jcmd GC.run, then GC.heap_info)"
verdicts
safety
load_figures
bench_report_agent_log
echo "SUMMARY_JSON {\"minutes\":$MINUTES,\"sample_seconds\":$SAMPLE_SECONDS,\"samples\":$(count "$TMP/samples.tsv" 1),\"load_start\":\"$LOAD_START\",\"load_end\":\"$(loadavg)\",\"seconds\":$((SECONDS - START_S)),\"failures\":$FAILURES,\"metrics\":{$METRICS_JSON},$SAFETY_JSON,$LOAD_JSON,\"checks\":{${CHECKS#,}}}"
[ "$FAILURES" = 0 ] || { log "$FAILURES check(s) failed"; exit 1; }
FAILED=0
