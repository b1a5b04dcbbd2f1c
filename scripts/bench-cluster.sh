#!/usr/bin/env bash
# Cluster-mode scale benchmark (issue 11, "Scale and figures"): a private etcd, AGENTS real agents in cluster mode,
# and a load tool (scripts/bench/ClusterLoad.java) that plays NODES fake nodes x ENDPOINTS endpoints in etcd.
# Prints figures and a JSON summary; judges nothing; not part of the test suite. Needs root (BPF) and the built
# distribution (scripts/build.sh), etcd (Debian etcd-server), a JDK 17 (jcmd; the JDK's foreign linker reads the
# agents' pinned BPF ipcache maps through libbpf).
#
#   sudo scripts/bench-cluster.sh [--nodes 100] [--endpoints 100] [--identities N] [--rate 10] [--steady 60]
#                                 [--agents 3] [--threads 4] [--settle 15] [--tmpdir /tmp] [--java-opts "-Xmx256m"]
#   sudo scripts/bench-cluster.sh --nodes 10 --endpoints 10 --steady 10      # a quick run (about 2 minutes)
#
# Phases: (1) etcd and the agents start; after --settle s, RSS/heap/CPU of each agent = the baseline. (2) setup:
# one lease and registration per fake node, the identity masters (--identities, default NODES*ENDPOINTS/10, at most
# 1000) and each node's references. (3) bulk: every ip key published from --threads threads, each stamped; the
# tool polls every agent's BPF ipcache map until all are in. (4) after --settle s: RSS/heap/CPU again. (5) steady:
# --rate times a second one fake node replaces an endpoint (a put of a new address and a delete of the old one)
# for --steady s; publish-to-BPF propagation per entry and agent, and etcd's request rate from its /metrics.
# (6) a new agent starts: time until its BPF ipcache holds every entry. --java-opts is passed to every agent's JVM
# (SEPTUM_JAVA_OPTS); by default the agents run as shipped (bin/septum: -Xmx256m and the serial collector).
# Everything it makes (processes, temp dir, pins /sys/fs/bpf/septum-bclu-<id>-<n>) is removed on exit, also on
# failure or Ctrl-C. Every wait has a deadline.
set -euo pipefail
export LC_ALL=C

NODES=100
ENDPOINTS=100
IDENTITIES=
RATE=10
STEADY=60
AGENTS=3
THREADS=4
SETTLE=15
TMP_BASE=/tmp
AGENT_JAVA_OPTS=

BENCH_TAG=bench-cluster
# shellcheck source=lib/bench-common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/bench-common.sh" # ROOT, DIST
usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; }
bench_options see-help --nodes=NODES --endpoints=ENDPOINTS --identities=IDENTITIES --rate=RATE --steady=STEADY \
  --agents=AGENTS --threads=THREADS --settle=SETTLE --tmpdir=TMP_BASE --java-opts=AGENT_JAVA_OPTS -- "$@"
LOAD_SRC="$ROOT/scripts/bench/ClusterLoad.java"
bench_range --nodes "$NODES" 1 1000
bench_range --endpoints "$ENDPOINTS" 1 2000
[ -n "$IDENTITIES" ] || { IDENTITIES=$((NODES * ENDPOINTS / 10)); [ "$IDENTITIES" -ge 1 ] || IDENTITIES=1; [ "$IDENTITIES" -le 1000 ] || IDENTITIES=1000; }
bench_range --identities "$IDENTITIES" 1 60000
bench_range --rate "$RATE" 1 1000
bench_range --steady "$STEADY" 1 1800
bench_range --agents "$AGENTS" 1 8
bench_range --threads "$THREADS" 1 64
bench_range --settle "$SETTLE" 0 300

bench_require "BPF maps and pins" etcd curl java jcmd ss timeout
LIBBPF=$(ldconfig -p | awk '/libbpf\.so\.1 .*x86-64|libbpf\.so\.1 \(libc6\)/ {print $NF; exit}')
[ -n "$LIBBPF" ] || LIBBPF=$(ldconfig -p | awk '/libbpf\.so\.1/ {print $NF; exit}')
[ -n "$LIBBPF" ] || die "libbpf.so.1 not found (apt-get install libbpf1)"

bench_run_dir septum-bclu # RID, TMP
ETCD_PID=
LOAD_PID=
declare -a APID=()
FAILED=1
TOTAL_AGENTS=$((AGENTS + 1))
bpfdir() { echo "/sys/fs/bpf/septum-bclu-$RID-$1"; }

cleanup() {
  local k left=0
  stop_pid "$LOAD_PID" 5
  for k in "${!APID[@]}"; do stop_pid "${APID[$k]}" 20; done
  stop_pid "$ETCD_PID" 10
  if [ "$FAILED" = 1 ]; then
    for k in "${!APID[@]}"; do
      [ -f "$TMP/a$k/agent.log" ] && { echo "bench-cluster: agent $k log tail:" >&2; tail -n 15 "$TMP/a$k/agent.log" >&2; }
    done
    [ -f "$TMP/load.log" ] && { echo "bench-cluster: load tool log tail:" >&2; tail -n 20 "$TMP/load.log" >&2; }
    [ -f "$TMP/etcd.log" ] && { echo "bench-cluster: etcd log tail:" >&2; tail -n 5 "$TMP/etcd.log" >&2; }
  fi
  for ((k = 1; k <= TOTAL_AGENTS; k++)); do
    d=$(bpfdir "$k")
    case $d in /sys/fs/bpf/septum-bclu-????-[0-9]) rm -rf "$d" ;; esac
    [ ! -e "$d" ] || { echo "bench-cluster: left behind: $d" >&2; left=1; }
  done
  case ${TMP##*/} in septum-bclu.??????) rm -rf "$TMP" ;; esac
  [ "$left" = 0 ] || echo "bench-cluster: some pins could not be removed" >&2
}
bench_traps

free_port() {
  local p
  for _ in $(seq 1 200); do p=$((20000 + RANDOM % 40000)); [ -n "$(ss -Hltn "sport = :$p")" ] || { echo "$p"; return; }; done
  die "no free port found"
}
api() { # AGENT PATH: body of a 2xx answer from that agent's REST API (several agents: not the common api)
  curl -sf --max-time 10 --unix-socket "$TMP/a$1/run/septum.sock" "http://septum$2"
}
ticks() { awk '{print $14 + $15}' "/proc/${APID[$1]}/stat"; }
rss_kib() { bench_rss_kib "${APID[$1]}"; }
heap_kib() { # forces a full GC, then prints the heap in use (KiB)
  jcmd "${APID[$1]}" GC.run >/dev/null 2>&1 || true
  jcmd "${APID[$1]}" GC.heap_info 2>/dev/null | grep -o 'used [0-9]*K' | head -1 | tr -dc 0-9
}
hz=$(getconf CLK_TCK)
now_ms() { local t=$EPOCHREALTIME; echo $(( ${t%.*} * 1000 + 10#${t#*.} / 1000 )); }

start_agent() { # K
  local k=$1 a="$TMP/a$1"
  mkdir -p "$a/home/etc" "$a/home/deploy" "$a/state" "$a/run"
  cp -a "$TMP/septum/etc/." "$a/home/etc/"
  ln -s "$TMP/septum/bundle" "$a/home/bundle"
  cat >"$a/home/etc/io.septum.cluster.cfg" <<EOF
etcdEndpoints=$EP
allowInsecure=true
nodeName=bench-agent-$k
endpointCidrs=10.99.$k.0/24
nodeAddresses=10.98.0.$k
EOF
  SEPTUM_LOCK_DIR="$TMP/locks" SEPTUM_JAVA_OPTS="$AGENT_JAVA_OPTS" "$TMP/septum/bin/septum" agent --home "$a/home" --state-dir "$a/state" --run-dir "$a/run" --bpf-dir "$(bpfdir "$k")" \
    >>"$a/agent.log" 2>&1 </dev/null &
  APID[$k]=$!
}

await_ready() { # K DEADLINE_S: until GET /v1/status says ready and the cluster is connected
  local k=$1 t0=$SECONDS st
  while :; do
    kill -0 "${APID[$k]}" 2>/dev/null || die "agent $k exited during start-up"
    grep -q 'Unable to resolve' "$TMP/a$k/agent.log" && die "bundles of $DIST do not resolve (a rebuild in progress?)"
    st=$(api "$k" /v1/status 2>/dev/null) || st=
    [[ $st == *'"ready":true'* ]] && break
    [ $((SECONDS - t0)) -lt "$2" ] || die "agent $k was not ready after $2 s"
    sleep 0.2
  done
}

# The load tool speaks one command per line on its stdin and answers "RESULT key=value ...".
declare -A R=()
tool() { # PREFIX TIMEOUT_S COMMAND...: sends COMMAND, stores the answer's keys as R[PREFIX.key]
  local prefix=$1 to=$2 line kv
  shift 2
  echo "$*" >&"${LOAD[1]}"
  IFS= read -r -t "$to" line <&"${LOAD[0]}" || die "the load tool did not answer \"$1\" within $to s"
  [[ $line == RESULT* ]] || die "the load tool answered: $line"
  [[ $line != *error=* ]] || die "the load tool failed \"$1\": ${line#RESULT }"
  for kv in ${line#RESULT }; do R[$prefix.${kv%%=*}]=${kv#*=}; done
}
etcd_metrics() { curl -sf --max-time 10 "$EP/metrics"; }
# grpc requests etcd received (unary calls and stream messages), by method: "method count" lines
etcd_requests() {
  awk '/^grpc_server_msg_received_total/ { match($0, /grpc_method="[^"]*"/); m = substr($0, RSTART + 13, RLENGTH - 14);
       s[m] += $NF } END { for (m in s) printf "%s %d\n", m, s[m] }' <<<"$1" | sort
}
metric_sum() { awk -v n="$2" '$1 ~ "^"n"({|$)" { s += $NF } END { printf "%d", s }' <<<"$1"; }

# ---------------------------------------------------------------------------------------------------------------
LOAD_START=$(loadavg)
T_START=$SECONDS
log "run $RID: $NODES nodes x $ENDPOINTS endpoints, $IDENTITIES identities, $AGENTS agents; load average $LOAD_START"
cp -a "$DIST" "$TMP/septum"

CLIENT_PORT=$(free_port)
PEER_PORT=$(free_port)
EP="http://127.0.0.1:$CLIENT_PORT"
setsid etcd --name septum-bench --data-dir "$TMP/etcd" \
  --listen-client-urls "$EP" --advertise-client-urls "$EP" \
  --listen-peer-urls "http://127.0.0.1:$PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$PEER_PORT" \
  --initial-cluster "septum-bench=http://127.0.0.1:$PEER_PORT" >"$TMP/etcd.log" 2>&1 </dev/null &
ETCD_PID=$!
for _ in $(seq 1 100); do curl -sf "$EP/health" >/dev/null 2>&1 && break; sleep 0.2; done
curl -sf "$EP/health" >/dev/null || die "etcd did not answer on $EP within 20 s"
ETCD_VERSION=$(curl -sf "$EP/version" | grep -o '"etcdserver":"[^"]*"' | cut -d'"' -f4)
log "etcd $ETCD_VERSION on $EP (data in $TMP/etcd)"

for ((k = 1; k <= AGENTS; k++)); do start_agent "$k"; done
for ((k = 1; k <= AGENTS; k++)); do await_ready "$k" 180; done
AGENT_VERSION=$(api 1 /v1/status | grep -o '"version":"[^"]*"' | head -1 | cut -d'"' -f4)
for ((k = 1; k <= AGENTS; k++)); do
  d=$(bpfdir "$k"); [ -e "$d/septum_ipcache" ] || die "agent $k has no pinned ipcache at $d/septum_ipcache"
  for _ in $(seq 1 150); do [[ $(api "$k" /v1/cluster 2>/dev/null) == *'"reachable":true'* ]] && break; sleep 0.2; done
done
declare -A RSS0 HEAP0 RSS1 HEAP1 CPUI CPU0 CPU1 CPU2 CPU3
log "$AGENTS agents ready (agent $AGENT_VERSION); settling ${SETTLE}s"
for ((k = 1; k <= AGENTS; k++)); do CPUI[$k]=$(ticks "$k"); done
T_IDLE=$EPOCHREALTIME
sleep "$SETTLE"
for ((k = 1; k <= AGENTS; k++)); do CPU0[$k]=$(ticks "$k"); done
IDLE_S=$(awk -v a="$EPOCHREALTIME" -v b="$T_IDLE" 'BEGIN { printf "%.3f", a - b }')
for ((k = 1; k <= AGENTS; k++)); do RSS0[$k]=$(rss_kib "$k"); HEAP0[$k]=$(heap_kib "$k"); done
log "baseline: RSS ${RSS0[*]} KiB, heap after GC ${HEAP0[*]} KiB"

coproc LOAD { exec java --add-modules jdk.incubator.foreign --enable-native-access=ALL-UNNAMED -Dlibbpf="$LIBBPF" \
  "$LOAD_SRC" "$EP" "$NODES" "$ENDPOINTS" "$IDENTITIES" 2>>"$TMP/load.log"; }
IFS= read -r -t 120 line <&"${LOAD[0]}" || die "the load tool did not start within 120 s"
[[ $line == "RESULT ready=1" ]] || die "the load tool said: $line"
MAPS=()
for ((k = 1; k <= AGENTS; k++)); do MAPS+=("$(bpfdir "$k")/septum_ipcache"); done

log "setup: $NODES leased node registrations, $IDENTITIES identities and their references"
tool setup 600 setup
log "setup took ${R[setup.setup_ms]} ms; bulk: publishing $((NODES * ENDPOINTS)) ip keys from $THREADS threads"
tool bulk 1000 bulk "$THREADS" 900 "${MAPS[@]}"
[ "${R[bulk.missing]}" = 0 ] || log "WARNING: at the deadline ${R[bulk.missing]} entry/agent pairs were still missing from the BPF ipcache (the figures below count them as not arrived)"
for ((k = 1; k <= AGENTS; k++)); do CPU1[$k]=$(ticks "$k"); done
log "bulk: all in every map after ${R[bulk.all_in_maps_s]} s; settling ${SETTLE}s"
sleep "$SETTLE"
for ((k = 1; k <= AGENTS; k++)); do
  RSS1[$k]=$(rss_kib "$k"); HEAP1[$k]=$(heap_kib "$k"); CPU2[$k]=$(ticks "$k")
  n=$(api "$k" /v1/bpf/ipcache | grep -o "kvstore:bench-node" | wc -l)
  log "agent $k: $n ipcache entries from fake nodes (REST), RSS ${RSS1[$k]} KiB, heap after GC ${HEAP1[$k]} KiB"
done

log "steady: $RATE endpoint replacements/s for ${STEADY}s"
M0=$(etcd_metrics); MT0=$EPOCHREALTIME
tool steady $((STEADY + 180)) steady "$RATE" "$STEADY" "${MAPS[@]}"
M1=$(etcd_metrics); MT1=$EPOCHREALTIME
for ((k = 1; k <= AGENTS; k++)); do CPU3[$k]=$(ticks "$k"); done

NEW=$TOTAL_AGENTS
log "new agent $NEW: start until its BPF ipcache holds all $((NODES * ENDPOINTS)) entries"
T_NEW=$(now_ms)
start_agent "$NEW"
echo "sync 600 $(bpfdir "$NEW")/septum_ipcache" >&"${LOAD[1]}"
READY_MS=
line=
partial=
for _ in $(seq 1 3000); do
  if [ -z "$READY_MS" ] && [[ $(api "$NEW" /v1/status 2>/dev/null) == *'"ready":true'* ]]; then READY_MS=$(now_ms); fi
  # a read that times out keeps what it got of the line (bash saves it): keep it, or the line loses its start
  if IFS= read -r -t 0.2 part <&"${LOAD[0]}"; then line=$partial$part; break; fi
  partial+=$part
  kill -0 "${APID[$NEW]}" 2>/dev/null || die "agent $NEW exited"
done
[[ $line == RESULT* && $line != *error=* ]] || die "the load tool did not report agent $NEW's sync: $line"
for kv in ${line#RESULT }; do R[sync.${kv%%=*}]=${kv#*=}; done
[ "${R[sync.missing]}" = 0 ] || die "agent $NEW still missed ${R[sync.missing]} entries after 600 s"
for _ in $(seq 1 300); do [ -n "$READY_MS" ] && break; [[ $(api "$NEW" /v1/status 2>/dev/null) == *'"ready":true'* ]] && READY_MS=$(now_ms); sleep 0.2; done
RSS_NEW=$(rss_kib "$NEW")
tool quit 60 quit
LOAD_END=$(loadavg)

# ---------------------------------------------------------------------------------------------------------------
ENTRIES=$((NODES * ENDPOINTS))
mean() { awk '{ s = 0; for (i = 1; i <= NF; i++) s += $i; printf "%.1f", s / NF }' <<<"$*"; }
drss=() dheap=() cbulk=() csteady=() cidle=()
for ((k = 1; k <= AGENTS; k++)); do
  drss+=("$(awk -v a="${RSS1[$k]}" -v b="${RSS0[$k]}" -v n="$ENTRIES" 'BEGIN { printf "%.2f", (a - b) / n }')")
  dheap+=("$(awk -v a="${HEAP1[$k]}" -v b="${HEAP0[$k]}" -v n="$ENTRIES" 'BEGIN { printf "%.2f", (a - b) / n }')")
  cbulk+=("$(awk -v a="${CPU1[$k]}" -v b="${CPU0[$k]}" -v h="$hz" 'BEGIN { printf "%.1f", (a - b) / h }')")
  cidle+=("$(awk -v a="${CPU0[$k]}" -v b="${CPUI[$k]}" -v h="$hz" -v t="$IDLE_S" 'BEGIN { printf "%.1f", (t > 0 ? 100 * (a - b) / h / t : 0) }')")
  csteady+=("$(awk -v a="${CPU3[$k]}" -v b="${CPU2[$k]}" -v h="$hz" -v t="${R[steady.steady_s]}" 'BEGIN { printf "%.1f", 100 * (a - b) / h / t }')")
done
SECS=$(awk -v a="$MT1" -v b="$MT0" 'BEGIN { printf "%.3f", a - b }')
REQ0=$(etcd_requests "$M0"); REQ1=$(etcd_requests "$M1")
ETCD_BY_METHOD=$(join -a 2 -e 0 -o 0,1.2,2.2 <(echo "$REQ0") <(echo "$REQ1") |
  awk -v t="$SECS" '{ d = $3 - $2; if (d > 0) printf "%s%s=%.1f", sep, $1, d / t; sep = " " }')
ETCD_OPS=$(join -a 2 -e 0 -o 0,1.2,2.2 <(echo "$REQ0") <(echo "$REQ1") | awk -v t="$SECS" '{ s += $3 - $2 } END { printf "%.1f", s / t }')
delta_rate() { awk -v a="$(metric_sum "$M1" "$1")" -v b="$(metric_sum "$M0" "$1")" -v t="$SECS" 'BEGIN { printf "%.1f", (a - b) / t }'; }
ETCD_PUTS=$(delta_rate etcd_mvcc_put_total)
ETCD_DELETES=$(delta_rate etcd_mvcc_delete_total)
ETCD_RANGES=$(delta_rate etcd_mvcc_range_total)
ETCD_TXNS=$(delta_rate etcd_mvcc_txn_total)
ETCD_WATCH_OUT=$(awk -v t="$SECS" -v a="$(grep '^grpc_server_msg_sent_total.*grpc_method="Watch"' <<<"$M1" | awk '{s+=$NF} END {print s+0}')" \
  -v b="$(grep '^grpc_server_msg_sent_total.*grpc_method="Watch"' <<<"$M0" | awk '{s+=$NF} END {print s+0}')" 'BEGIN { printf "%.1f", (a - b) / t }')
DB_BYTES=$(metric_sum "$M1" etcd_mvcc_db_total_size_in_bytes)
NEW_SYNC=$(awk -v a="${R[sync.all_in_map_epoch_ms]}" -v b="$T_NEW" 'BEGIN { printf "%.2f", (a - b) / 1000 }')
NEW_READY=$(awk -v a="${READY_MS:-0}" -v b="$T_NEW" 'BEGIN { printf "%.2f", (a > 0 ? (a - b) / 1000 : -1) }')
ELAPSED=$((SECONDS - T_START))

cat <<EOF

Septum cluster benchmark — $(date -u '+%Y-%m-%d %H:%M UTC')
host: $(nproc) CPU(s), kernel $(uname -r); load average at the start: $LOAD_START, at the end: $LOAD_END; took $ELAPSED s
agent $AGENT_VERSION (private copy of $DIST; JVM options: ${AGENT_JAVA_OPTS:-none, as shipped}), etcd $ETCD_VERSION (one member, loopback, data on $TMP_BASE)
load: $NODES fake nodes x $ENDPOINTS endpoints = $ENTRIES ip keys, $IDENTITIES identities (${R[setup.references]} references),
      $AGENTS agents watching; setup ${R[setup.setup_ms]} ms

bulk load: $ENTRIES puts from $THREADS threads in ${R[bulk.publish_s]} s (${R[bulk.publish_rate_per_s]}/s; put answered p50 ${R[bulk.put_ack_p50_ms]} ms, p99 ${R[bulk.put_ack_p99_ms]} ms)
  every entry in every agent's BPF ipcache ${R[bulk.all_in_maps_s]} s after the first put
  per entry, put -> in the map: p50 ${R[bulk.bulk_p50_ms]} ms, p99 ${R[bulk.bulk_p99_ms]} ms, max ${R[bulk.bulk_max_ms]} ms (${R[bulk.bulk_samples]} samples)
  probe: all pending keys of all maps each pass, passes at least 20 ms apart: mean ${R[bulk.poll_period_mean_ms]} ms, max ${R[bulk.poll_period_max_ms]} ms

steady state: ${R[steady.adds]} replacements in ${R[steady.steady_s]} s (${R[steady.achieved_rate_per_s]}/s; each a put of a new address, then a delete)
  propagation, put -> in the BPF ipcache:    p50 ${R[steady.add_p50_ms]} ms, p99 ${R[steady.add_p99_ms]} ms, max ${R[steady.add_max_ms]} ms (${R[steady.add_samples]} samples = entries x agents)
  propagation, delete -> gone from it:      p50 ${R[steady.delete_p50_ms]} ms, p99 ${R[steady.delete_p99_ms]} ms, max ${R[steady.delete_max_ms]} ms (${R[steady.delete_samples]} samples)
  etcd answered the put: p50 ${R[steady.put_ack_p50_ms]} ms, p99 ${R[steady.put_ack_p99_ms]} ms (included above: the stamp is taken before the put)
  resolution: pending keys polled with bpf_map_lookup_elem every ${R[steady.poll_period_mean_ms]} ms on average (max ${R[steady.poll_period_max_ms]} ms)
  etcd requests: $ETCD_OPS/s (grpc messages received, all methods): $ETCD_BY_METHOD
  etcd mvcc: puts $ETCD_PUTS/s, deletes $ETCD_DELETES/s, ranges $ETCD_RANGES/s, txns $ETCD_TXNS/s; watch responses sent $ETCD_WATCH_OUT/s; db $((DB_BYTES / 1024)) KiB

agents (1..$AGENTS)            before load        with $ENTRIES remote entries   per remote endpoint
  RSS KiB                      ${RSS0[*]}    ${RSS1[*]}    ${drss[*]} KiB
  heap in use after a full GC  ${HEAP0[*]}    ${HEAP1[*]}    ${dheap[*]} KiB
  CPU idle before the load: ${cidle[*]} % of one core; setup + bulk load: ${cbulk[*]} s; steady phase: ${csteady[*]} % of one core

new agent: ready (REST status) after $NEW_READY s; every entry in its BPF ipcache $NEW_SYNC s after it was started (RSS then $RSS_NEW KiB)

SUMMARY_JSON {"nodes":$NODES,"endpoints_per_node":$ENDPOINTS,"entries":$ENTRIES,"identities":$IDENTITIES,"agents":$AGENTS,"steady_rate_per_s":${R[steady.achieved_rate_per_s]},"steady_s":${R[steady.steady_s]},"propagation_p50_ms":${R[steady.add_p50_ms]},"propagation_p99_ms":${R[steady.add_p99_ms]},"propagation_max_ms":${R[steady.add_max_ms]},"propagation_samples":${R[steady.add_samples]},"delete_propagation_p50_ms":${R[steady.delete_p50_ms]},"delete_propagation_p99_ms":${R[steady.delete_p99_ms]},"poll_period_ms":${R[steady.poll_period_mean_ms]},"bulk_all_in_maps_s":${R[bulk.all_in_maps_s]},"bulk_p50_ms":${R[bulk.bulk_p50_ms]},"bulk_p99_ms":${R[bulk.bulk_p99_ms]},"rss_before_kib":$(mean "${RSS0[@]}"),"rss_after_kib":$(mean "${RSS1[@]}"),"rss_per_remote_kib":$(mean "${drss[@]}"),"heap_per_remote_kib":$(mean "${dheap[@]}"),"cpu_bulk_s":$(mean "${cbulk[@]}"),"cpu_idle_pct":$(mean "${cidle[@]}"),"cpu_steady_pct":$(mean "${csteady[@]}"),"etcd_ops_per_s":$ETCD_OPS,"etcd_puts_per_s":$ETCD_PUTS,"etcd_deletes_per_s":$ETCD_DELETES,"new_node_ready_s":$NEW_READY,"new_node_sync_s":$NEW_SYNC,"agent_java_opts":"$AGENT_JAVA_OPTS","load_start":"$LOAD_START","load_end":"$LOAD_END"}
EOF
FAILED=0
