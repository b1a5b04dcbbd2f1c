#!/usr/bin/env bash
# Reliability scenarios on a private agent: prints figures and a verdict per safety check. Run as root on Linux with
# the built distribution (mvn -B -o -pl distribution -am -DskipTests package, or scripts/build.sh).
#
#   sudo scripts/reliability.sh [--storm-seconds N] [--imports N] [--churn N] [--scenario NAME] [--tmpdir DIR]
#
# Scenarios (default: all, in this order): storm, churn, disk, kill, term, crashloop, corrupt, pin.
# Two netns endpoints, rel-client and rel-server (a third, rel-third, for churn), on a bridge. rel-server listens on
# TCP 8080 and 9090; the policy lets rel-client reach 8080 only. A prober in rel-client starts a connect to each port
# every 20 ms for as long as a scenario runs (bounded by 1 s on 8080, 0.5 s on 9090) and the figures of every
# scenario are: probes to 9090 that got through (must be 0) and probes to 8080 that failed (transient denies).
#   storm    up to --imports imports (default 400) within --storm-seconds (default 60): documents alternating between
#            two versions of the probed policy (same allow for the probed pair, other rules changed) and unrelated
#            policies; imports/s and the import -> enforced latency (endpoints' policyRevision reaching it); an
#            iperf3 stream (100 Mbit/s) between the pair and rel-third added and deleted throughout.
#   churn    rel-third added and deleted --churn times (default 10), each time until ready / gone.
#   disk     the policy state directory on a 1 MiB tmpfs, filled up: imports are refused, enforcement unchanged,
#            imports work again once space is freed.
#   kill     kill -9 of the agent during a storm, then a restart: 9090 stays closed while it is down and after,
#            endpoints (ids, identities) and identities unchanged.
#   term     the same with SIGTERM (a stop in the middle of the storm's regenerations): it must stop within 20 s.
#   crashloop  the agent killed (SIGKILL) during its own start-up 5 times in a row, each time in a later phase
#            (found by its log: framework, configuration, REST API, datapath restore, proxies and first
#            regeneration), then started: the same checks as kill, over all six starts.
#   corrupt  the agent stopped, policies/state.json truncated, restarted: it must start, say degraded, rebuild the
#            policies from the policy history, and 9090 must never open (8080 open again without an import).
#   pin      the agent's policy map pin removed while it runs: enforcement and imports go on.
# Everything it makes (agent, namespaces, veths, bridge, pins under /sys/fs/bpf/septum-rel-*, tmpfs mounts, temp
# dirs) is removed on exit, also on failure or Ctrl-C. The last line is SUMMARY_JSON {...}.
set -Eeuo pipefail
export LC_ALL=C

STORM_SECONDS=60
IMPORTS=400
CHURN=10
SCENARIOS="storm churn disk kill term crashloop corrupt pin"
TMP_BASE=/tmp

BENCH_TAG=reliability
# shellcheck source=lib/bench-common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/bench-common.sh" # ROOT, DIST
usage() { sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; }
bench_options usage --storm-seconds=STORM_SECONDS --imports=IMPORTS --churn=CHURN --scenario=SCENARIOS --tmpdir=TMP_BASE -- "$@"
bench_positive STORM_SECONDS IMPORTS CHURN
for s in $SCENARIOS; do
  case $s in storm|churn|disk|kill|term|crashloop|corrupt|pin) ;; *) echo "reliability: unknown scenario $s" >&2; exit 2 ;; esac
done

START_S=$SECONDS
LOAD_START=$(loadavg)
bench_require "network namespaces, BPF, tmpfs mounts" ip ss socat curl jq timeout mount umount java javac iperf3

unused() { bench_names_free "srel-$1-" "srb$1" "/sys/fs/bpf/septum-rel-$1"; } # RID
bench_run_dir septum-rel unused # RID, TMP
BPF_DIR="/sys/fs/bpf/septum-rel-$RID"
BR="srb$RID"
SOCK="$TMP/run/septum.sock"
NS_C="srel-$RID-client" NS_S="srel-$RID-server" NS_T="srel-$RID-third"
CIP=10.199.253.1 SIP=10.199.253.2 TIP=10.199.253.3
NETNS_MADE=()
LINKS_MADE=()
REGISTERED=()
MOUNTS=()
AGENT_PID=
CHURN_PID=
PROBE_PID=
FAILED=1
FAILURES=0
declare -A FIG # the SUMMARY_JSON figures, key -> JSON value

cleanup() {
  [ -z "$CHURN_PID" ] || { kill "$CHURN_PID" 2>/dev/null; wait "$CHURN_PID" 2>/dev/null; }
  stop_probe
  bench_stop_agent
  stop_pid "$AGENT_PID" 5
  bench_agent_log_tail 25
  local m left=""
  for m in "${MOUNTS[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
  for m in "${MOUNTS[@]}"; do mountpoint -q "$m" 2>/dev/null && left+=" mount $m"; done
  bench_remove_topology "srel-$RID-" '/sys/fs/bpf/septum-rel-????' 'septum-rel.??????' "$left"
}
bench_traps err

cli() { "$TMP/septum/bin/septum" --socket "$SOCK" "$@"; }

check() { # NAME OK(0/1) TEXT: one verdict line; a failed check makes the run fail at the end
  if [ "$2" = 1 ]; then echo "  PASS $1: $3"; else echo "  FAIL $1: $3"; FAILURES=$((FAILURES + 1)); fi
  FIG[$1]=$([ "$2" = 1 ] && echo true || echo false)
}

# ---- the prober ------------------------------------------------------------------------------------------------
# One line per connect: "EPOCH PORT RC" (0 connected, 124 no answer within 1 s, else refused or unreachable).
start_probe() { # FILE MAX_SECONDS: a connect to each port every 20 ms (scripts/bench/ConnectProber.java)
  : >"$1"
  rm -f "$TMP/stop-probe"
  # a connect to the allowed port fails after 1 s; one to the denied port is given 0.5 s to get through; they are
  # started every 20 ms whether the earlier ones have ended or not, so a denied port is sampled every 20 ms too
  ip netns exec "$NS_C" java -XX:TieredStopAtLevel=1 -Xmx64m -cp "$TMP/classes" ConnectProber "$1" "$SIP" \
    "$TMP/stop-probe" "$2" 20 8080:1000 9090:500 2>>"$TMP/prober.err" &
  PROBE_PID=$!
  PROBE_FILE=$1
}

stop_probe() {
  [ -n "$PROBE_PID" ] || return 0
  touch "$TMP/stop-probe"
  local i
  for ((i = 0; i < 50; i++)); do kill -0 "$PROBE_PID" 2>/dev/null || break; sleep 0.1; done
  kill "$PROBE_PID" 2>/dev/null || true
  wait "$PROBE_PID" 2>/dev/null || true
  PROBE_PID=
}

probe_figures() { # SCENARIO: stops the prober, prints the safety figures, checks them
  stop_probe
  local a af d dl
  a=$(awk '$2 == 8080' "$PROBE_FILE" | wc -l)
  af=$(awk '$2 == 8080 && $3 != 0' "$PROBE_FILE" | wc -l)
  d=$(awk '$2 == 9090' "$PROBE_FILE" | wc -l)
  dl=$(awk '$2 == 9090 && $3 == 0' "$PROBE_FILE" | wc -l)
  echo "  probes: allowed 8080: $a, failed $af; denied 9090: $d, got through $dl"
  FIG[$1_allowed_probes]=$a FIG[$1_allowed_failed]=$af FIG[$1_denied_probes]=$d FIG[$1_denied_open]=$dl
  check "$1_denied_stayed_closed" "$([ "$dl" = 0 ] && [ "$d" -gt 0 ] && echo 1 || echo 0)" "$dl of $d probes to the denied port got through"
}

# ---- policies --------------------------------------------------------------------------------------------------
policy_doc() { # VARIANT FILE: the probed policy (allow rel-client -> rel-server 8080, and 5201 for the storm's
               # iperf3 stream) plus one rule that changes
  cat >"$2" <<EOF
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: rel-server
  namespace: default
spec:
  endpointSelector:
    matchLabels:
      app: rel-server
  ingress:
  - fromEndpoints:
    - matchLabels:
        app: rel-client
    toPorts:
    - ports:
      - port: "8080"
        protocol: TCP
      - port: "5201"
        protocol: TCP
  - fromEndpoints:
    - matchLabels:
        app: rel-other-$1
    toPorts:
    - ports:
      - port: "$((7000 + $1))"
        protocol: TCP
EOF
}

unrelated_doc() { # N FILE: a policy for endpoints that do not exist
  cat >"$2" <<EOF
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: rel-unrelated-$1
  namespace: default
spec:
  endpointSelector:
    matchLabels:
      app: rel-nobody-$1
  egress:
  - toEndpoints:
    - matchLabels:
        app: rel-nobody-$(($1 + 1))
    toPorts:
    - ports:
      - port: "$((6000 + $1))"
        protocol: TCP
EOF
}

write_docs() {
  mkdir -p "$TMP/docs"
  policy_doc 0 "$TMP/docs/a.yaml"
  policy_doc 1 "$TMP/docs/b.yaml"
  local i
  for i in 0 1 2 3 4 5 6 7; do unrelated_doc "$i" "$TMP/docs/u$i.yaml"; done
}

storm() { # N SECONDS: imports until N done or SECONDS passed; sets STORM_DONE, STORM_FAILED, STORM_MS, STORM_REV
  local n=$1 end=$((SECONDS + $2)) i doc t0 r
  STORM_DONE=0 STORM_FAILED=0 STORM_REV=0
  t0=$(date +%s%N)
  for ((i = 0; i < n && SECONDS < end; i++)); do
    case $((i % 4)) in
      0) doc=a ;; 2) doc=b ;; *) doc=u$(((i / 2) % 8)) ;;
    esac
    if r=$(API_TIMEOUT=10 import_policy "$TMP/docs/$doc.yaml" 2>>"$TMP/storm-errors.log"); then
      STORM_DONE=$((STORM_DONE + 1))
      [ -z "$r" ] || STORM_REV=$r
    else
      STORM_FAILED=$((STORM_FAILED + 1))
    fi
  done
  STORM_MS=$((($(date +%s%N) - t0) / 1000000))
}

enforced_ms() { # REVISION: how long until rel-server and rel-client are at it (ms), or fails after 30 s
  local t0
  t0=$(date +%s%N)
  wait_revision rel- "$1" 30
  echo $((($(date +%s%N) - t0) / 1000000))
}

# ---- topology and endpoints ------------------------------------------------------------------------------------
setup() {
  ip link add "$BR" type bridge
  LINKS_MADE+=("$BR")
  ip link set "$BR" up
  NETNS_MADE+=("$NS_C" "$NS_S" "$NS_T")
  LINKS_MADE+=("sr${RID}c" "sr${RID}s" "sr${RID}t")
  bench_add_node "$NS_C" "sr${RID}c" "$CIP"
  bench_add_node "$NS_S" "sr${RID}s" "$SIP"
  bench_add_node "$NS_T" "sr${RID}t" "$TIP"
  bench_tcp_sinks "$NS_S" "$SIP" 8080 9090
  bench_copy_dist
  mkdir -p "$TMP/classes"
  javac -d "$TMP/classes" "$ROOT/scripts/bench/ConnectProber.java"
  write_docs
  bench_start_agent
  register rel-client "sr${RID}c" "$NS_C" "$CIP"
  register rel-server "sr${RID}s" "$NS_S" "$SIP"
  wait_ready rel- 2 60
  local r
  r=$(import_policy "$TMP/docs/a.yaml")
  wait_revision rel- "$r" 30
  # the probed pair as the policy says, before anything happens
  local deadline=$((SECONDS + 20))
  until ip netns exec "$NS_C" timeout 1 bash -c "exec 3<>/dev/tcp/$SIP/8080" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || die "rel-client cannot reach rel-server:8080 with the policy in place"
    sleep 0.2
  done
  port_dropped "$NS_C" "$SIP" 9090 || die "rel-server:9090 is reachable from rel-client with the policy in place"
  log "topology ready: rel-client $CIP -> rel-server $SIP (8080 allowed, 9090 denied)"
}

third_up() { # registers rel-third and waits until it is ready (deadline 30 s)
  register rel-third "sr${RID}t" "$NS_T" "$TIP"
  wait_ready rel-third 1 30
}

third_down() { # deletes rel-third and waits until the agent no longer lists it (deadline 30 s)
  api DELETE "/v1/endpoints/default%2Frel-third" >/dev/null
  REGISTERED=(rel-client rel-server)
  local t0=$SECONDS
  while endpoints_json | grep -q '"name":"rel-third"'; do
    [ $((SECONDS - t0)) -lt 30 ] || die "rel-third still listed 30 s after its delete"
    sleep 0.1
  done
}

snapshot() { # FILE: endpoints (id, name, identity) and identities (id, labels), from the CLI's JSON
  {
    cli endpoint list -o json | jq -S '[.[] | {id, name, identity}] | sort_by(.id)'
    cli identity list -o json | jq -S '[.[] | {id, labels}] | sort_by(.id)'
  } >"$1"
}

status_json() { API_TIMEOUT=5 api GET /v1/status; }

# ---- scenarios -------------------------------------------------------------------------------------------------
sc_storm() {
  echo "== storm: up to $IMPORTS imports within $STORM_SECONDS s while probing"
  start_probe "$TMP/probe-storm" $((STORM_SECONDS + 60))
  local lat=() i r ms
  # a few imports timed on their own first: import -> enforced when nothing else is queued
  for i in 1 2 3 4 5; do
    r=$(import_policy "$TMP/docs/$([ $((i % 2)) = 1 ] && echo b || echo a).yaml")
    lat+=("$(enforced_ms "$r")")
  done
  # during the storm: a steady iperf3 stream between the probed pair (5201, which both versions allow), and the
  # third endpoint added and deleted again and again
  ip netns exec "$NS_S" iperf3 -s -1 -B "$SIP" -p 5201 >"$TMP/iperf3-server.log" 2>&1 &
  local iperf_s=$! iperf_c iperf_rc=0 churn_pid cycles=0 bad=0
  wait_listening "$NS_S" 5201 10
  ip netns exec "$NS_C" timeout $((STORM_SECONDS + 30)) iperf3 -c "$SIP" -p 5201 -b 100M -t "$STORM_SECONDS" -i 1 -J \
    >"$TMP/iperf3-storm.json" 2>&1 &
  iperf_c=$!
  rm -f "$TMP/stop-churn"
  (
    n=0 failed=0 until=$((SECONDS + STORM_SECONDS + 60))
    while [ ! -e "$TMP/stop-churn" ] && [ -d "$TMP" ] && [ $SECONDS -lt $until ]; do
      if (third_up && third_down) >/dev/null 2>>"$TMP/storm-churn-errors.log"; then n=$((n + 1)); else failed=$((failed + 1)); fi
    done
    echo "$n $failed" >"$TMP/storm-churn"
  ) &
  churn_pid=$!
  CHURN_PID=$churn_pid
  storm "$IMPORTS" "$STORM_SECONDS"
  touch "$TMP/stop-churn"
  wait "$churn_pid" 2>/dev/null || true
  read -r cycles bad <"$TMP/storm-churn" || true
  wait "$iperf_c" || iperf_rc=$?
  kill "$iperf_s" 2>/dev/null || true
  wait "$iperf_s" 2>/dev/null || true
  ms=$(enforced_ms "$STORM_REV")
  probe_figures storm
  local stream
  stream=$(jq -r '[.intervals[].sum.bits_per_second] | if length == 0 then "0 0 0" else "\(length) \(min / 1e6 | floor) \(add / length / 1e6 | floor)" end' \
    "$TMP/iperf3-storm.json" 2>/dev/null) || stream="0 0 0"
  read -r secs min_mbit mean_mbit <<<"$stream"
  echo "  iperf3 stream during the storm: exit $iperf_rc, $secs one-second intervals, min $min_mbit Mbit/s, mean $mean_mbit Mbit/s (100 Mbit/s asked)"
  FIG[storm_stream_intervals]=$secs FIG[storm_stream_min_mbit]=$min_mbit FIG[storm_stream_mean_mbit]=$mean_mbit
  check storm_stream_unbroken "$([ "$iperf_rc" = 0 ] && [ "$secs" -gt 0 ] && [ "$min_mbit" -gt 0 ] && echo 1 || echo 0)" \
    "the stream ran through (exit $iperf_rc) with no second without data (min $min_mbit Mbit/s)"
  echo "  endpoint churn during the storm: ${cycles:-0} cycle(s), ${bad:-?} failed"
  FIG[storm_churn_cycles]=${cycles:-0} FIG[storm_churn_failed]=${bad:-0}
  check storm_churn_ok "$([ "${cycles:-0}" -gt 0 ] && [ "${bad:-1}" = 0 ] && echo 1 || echo 0)" \
    "${cycles:-0} add/delete cycle(s) of rel-third during the storm, ${bad:-?} failed"
  local rate
  rate=$(awk -v n="$STORM_DONE" -v ms="$STORM_MS" 'BEGIN {printf "%.1f", ms ? n * 1000 / ms : 0}')
  echo "  imports: $STORM_DONE done, $STORM_FAILED failed, in $STORM_MS ms: $rate imports/s; last revision $STORM_REV"
  echo "  import -> enforced: single imports ${lat[*]} ms; after the storm's last import $ms ms"
  FIG[storm_imports]=$STORM_DONE FIG[storm_import_failures]=$STORM_FAILED FIG[storm_imports_per_s]=$rate
  FIG[storm_enforced_after_last_ms]=$ms FIG[single_import_enforced_ms]="[$(IFS=,; echo "${lat[*]}")]"
  check storm_imports_ok "$([ "$STORM_FAILED" = 0 ] && echo 1 || echo 0)" "$STORM_FAILED import(s) refused"
}

sc_churn() {
  echo "== churn: rel-third added and deleted $CHURN times while probing"
  start_probe "$TMP/probe-churn" $((CHURN * 60 + 30))
  local i t0
  t0=$(date +%s%N)
  for ((i = 0; i < CHURN; i++)); do third_up; third_down; done
  local ms=$((($(date +%s%N) - t0) / 1000000))
  probe_figures churn
  echo "  $CHURN add+delete cycles in $ms ms ($((ms / CHURN)) ms per cycle, each until ready / gone)"
  FIG[churn_cycles]=$CHURN FIG[churn_cycle_ms]=$((ms / CHURN))
}

sc_disk() {
  echo "== disk: the policy state directory on a full 1 MiB tmpfs"
  local d="$TMP/state/policies" keep="$TMP/policies-keep" rc=0 r
  [ -d "$d" ] || die "no $d"
  cp -a "$d" "$keep"
  mount -t tmpfs -o size=1m,mode=0755 "septum-rel-$RID" "$d"
  MOUNTS+=("$d")
  cp -a "$keep/." "$d/"
  dd if=/dev/zero of="$d/filler" bs=64k 2>/dev/null || true # until ENOSPC
  echo "  tmpfs: $(df -h --output=size,used,avail "$d" | tail -1 | xargs)"
  start_probe "$TMP/probe-disk" 120
  local before after
  before=$(status_json | jq .policyRevision)
  r=$(API_TIMEOUT=15 import_policy "$TMP/docs/b.yaml" 2>"$TMP/disk-import.err") || rc=1
  echo "  import on a full disk: $([ $rc = 1 ] && echo "refused: $(head -c 300 "$TMP/disk-import.err")" || echo "accepted, revision $r")"
  check disk_import_refused "$rc" "an import that cannot be saved is refused"
  after=$(status_json | jq .policyRevision)
  check disk_revision_unchanged "$([ "$before" = "$after" ] && echo 1 || echo 0)" "policy revision before/after the refused import: $before / $after"
  echo "  status: $(status_json | jq -r '.components[]? | select(.name == "policy") | "\(.state): \(.message)"' 2>/dev/null | head -c 300)"
  rm -f "$d/filler"
  rc=0
  r=$(API_TIMEOUT=15 import_policy "$TMP/docs/a.yaml") || rc=1
  [ $rc = 1 ] || wait_revision rel- "$r" 30
  check disk_import_after_free "$([ $rc = 0 ] && echo 1 || echo 0)" "an import once space is free: revision ${r:-none}"
  probe_figures disk
  # back on the real disk, with what the tmpfs now holds
  cp -a "$d/." "$keep/"
  umount "$d"
  MOUNTS=()
  cp -a "$keep/." "$d/"
}

restarted() { # NAME: after the agent came back: probe figures, the snapshot against "$TMP/snap-before", 9090 closed
  local same=0 r
  probe_figures "$1"
  snapshot "$TMP/snap-after"
  echo "  compared: $(jq -s 'map(length) | "\(.[0]) endpoints, \(.[1]) identities"' -r "$TMP/snap-after")"
  cmp -s "$TMP/snap-before" "$TMP/snap-after" && same=1
  [ $same = 1 ] || diff "$TMP/snap-before" "$TMP/snap-after" | head -20 | sed 's/^/    /'
  check "$1_ids_unchanged" "$same" "endpoint ids, their identities and the identity list before and after"
  port_dropped "$NS_C" "$SIP" 9090 && r=1 || r=0
  check "$1_denied_after_restart" "$r" "9090 dropped after the restart"
}

stop_during_storm() { # NAME SIGNAL: the agent stopped by SIGNAL 3 s into a storm, down 3 s, then started again
  local name=$1 signal=$2 down0 up_ms stop_ms t0 r
  snapshot "$TMP/snap-before"
  start_probe "$TMP/probe-$name" 240
  # a short storm: the signal comes 3 s into it, and its failing imports after that must not hold up the restart
  (storm "$IMPORTS" 6; echo "$STORM_DONE $STORM_FAILED" >"$TMP/$name-storm") &
  local storm_pid=$!
  sleep 3
  t0=$(date +%s%N)
  kill "-$signal" "$AGENT_PID"
  if [ "$signal" = TERM ]; then
    local i
    for ((i = 0; i < 100; i++)); do kill -0 "$AGENT_PID" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$AGENT_PID" 2>/dev/null && r=0 || r=1
    stop_ms=$((($(date +%s%N) - t0) / 1000000))
    check "${name}_stopped_in_time" "$r" "stopped ${stop_ms} ms after SIGTERM (at most 20 s)"
    FIG[${name}_stop_ms]=$stop_ms
    [ $r = 1 ] || kill -KILL "$AGENT_PID" 2>/dev/null || true
  fi
  wait "$AGENT_PID" 2>/dev/null || true
  down0=$(date +%s%N)
  log "agent $AGENT_PID stopped (SIG$signal); the storm's imports now fail"
  wait "$storm_pid" 2>/dev/null || true
  read -r ok failed <"$TMP/$name-storm" || true
  echo "  storm around the stop: ${ok:-?} import(s) accepted, ${failed:-?} failed (the agent was gone)"
  # a few seconds with no agent at all: the datapath alone
  sleep 3
  bench_start_agent
  wait_ready rel- 2 60
  up_ms=$((($(date +%s%N) - down0) / 1000000))
  echo "  agent down to ready again with both endpoints ready: $up_ms ms (of which JVM start to ready $AGENT_READY_MS ms)"
  FIG[${name}_down_to_ready_ms]=$up_ms
  sleep 2
  restarted "$name"
}

sc_kill() {
  echo "== kill: kill -9 of the agent during a storm, then a restart"
  stop_during_storm kill KILL
}

sc_term() {
  echo "== term: SIGTERM of the agent during a storm (in the middle of its regenerations), then a restart"
  stop_during_storm term TERM
}

sc_crashloop() {
  echo "== crashloop: the agent killed (SIGKILL) during its start-up 5 times in a row, then started"
  local i from at t0 waited
  # each kill lands in another phase of the start-up, found by the line the agent logs when it gets there
  local phases=("" "Creating configuration" "REST API listening" "datapath loaded" "DNS proxy listening")
  local names=("0.3 s after launch" "configuration delivered" "REST API up" "datapath loaded, restoring"
    "proxies starting, first regeneration")
  snapshot "$TMP/snap-before"
  start_probe "$TMP/probe-crashloop" 300
  kill -KILL "$AGENT_PID"
  wait "$AGENT_PID" 2>/dev/null || true
  for i in 0 1 2 3 4; do
    from=$(($(wc -l <"$TMP/agent.log") + 1))
    t0=$(date +%s%N)
    bench_launch_agent
    if [ -z "${phases[$i]}" ]; then
      sleep 0.3
    else
      for ((waited = 0; ; waited++)); do
        tail -n "+$from" "$TMP/agent.log" | grep -c "${phases[$i]}" >/dev/null && break
        kill -0 "$AGENT_PID" 2>/dev/null || die "the agent exited by itself during start-up (crash $((i + 1)))"
        [ "$waited" -lt 600 ] || die "the agent's log never showed '${phases[$i]}' within 30 s (crash $((i + 1)))"
        sleep 0.05
      done
    fi
    kill -KILL "$AGENT_PID" 2>/dev/null || true
    wait "$AGENT_PID" 2>/dev/null || true
    at=$((($(date +%s%N) - t0) / 1000000))
    echo "  crash $((i + 1)): killed $at ms after launch (${names[$i]})"
  done
  bench_start_agent
  wait_ready rel- 2 60
  sleep 2
  restarted crashloop
}

sc_corrupt() {
  echo "== corrupt: policies/state.json truncated while the agent is stopped"
  local f="$TMP/state/policies/state.json" size st r
  stop_pid "$AGENT_PID" 20 agent # not bench_stop_agent: the endpoints stay registered, as in a real restart
  [ -f "$f" ] || die "no $f"
  size=$(stat -c %s "$f")
  truncate -s $((size / 2)) "$f"
  echo "  $f truncated from $size to $((size / 2)) bytes"
  start_probe "$TMP/probe-corrupt" 240
  bench_start_agent
  st=$(status_json)
  echo "  status: mode $(jq -r .enforcementMode <<<"$st"); policy $(jq -r '.components[]? | select(.name == "policy") | "\(.state): \(.message)"' <<<"$st")"
  r=$(jq -r '.components[]? | select(.name == "policy") | .state' <<<"$st")
  check corrupt_degraded "$([ "$r" = degraded ] && echo 1 || echo 0)" "policy component state '$r'"
  wait_ready rel- 2 60
  # the policies are rebuilt from the policy history (policies/history.jsonl): the status says so, the denied port
  # stays closed and the allowed one open, with no import by the operator
  r=$(jq -r '.components[]? | select(.name == "policy") | .message' <<<"$st" | grep -c 'rebuilt .* from the policy history' || true)
  check corrupt_rebuilt_from_history "$([ "$r" -ge 1 ] && echo 1 || echo 0)" "status says the policies were rebuilt from the history"
  sleep 3
  probe_figures corrupt
  find "$TMP/state/policies" -mindepth 1 -maxdepth 1 -printf '  policies dir: %f\n' | sort
  port_dropped "$NS_C" "$SIP" 9090 && r=1 || r=0
  check corrupt_denied_after_rebuild "$r" "9090 dropped with the rebuilt policies"
  ip netns exec "$NS_C" timeout 1 bash -c "exec 3<>/dev/tcp/$SIP/8080" 2>/dev/null && r=1 || r=0
  check corrupt_allowed_after_rebuild "$r" "8080 reachable with the rebuilt policies"
}

sc_pin() {
  echo "== pin: the policy map pin removed while the agent runs"
  local pin
  pin=$(find "$BPF_DIR" -maxdepth 2 -name septum_policy | head -1)
  [ -n "$pin" ] || { echo "  no policy map pin under $BPF_DIR: $(find "$BPF_DIR" -maxdepth 1 -printf '%f ')"; return 0; }
  start_probe "$TMP/probe-pin" 120
  rm -f "$pin"
  echo "  removed $pin"
  local rc=0 r
  for i in 1 2 3 4 5 6; do
    r=$(import_policy "$TMP/docs/$([ $((i % 2)) = 1 ] && echo b || echo a).yaml") || rc=1
  done
  [ $rc = 1 ] || wait_revision rel- "$r" 30 || rc=1
  check pin_imports_ok "$([ $rc = 0 ] && echo 1 || echo 0)" "imports after the removal enforced (revision ${r:-none})"
  third_up
  third_down
  sleep 1
  probe_figures pin
  echo "  status: $(status_json | jq -r '.components[]? | select(.name == "datapath") | "\(.state): \(.message)"' | head -c 300)"
  echo "  pin back: $([ -e "$pin" ] && echo yes || echo no)"
}

# ---- main ------------------------------------------------------------------------------------------------------
log "load average at the start: $LOAD_START"
setup
for s in $SCENARIOS; do "sc_$s"; done
echo "load average: at the start $LOAD_START, at the end $(loadavg); took $((SECONDS - START_S)) s"
bench_report_agent_log
json="\"load_start\":\"$LOAD_START\",\"load_end\":\"$(loadavg)\",\"seconds\":$((SECONDS - START_S)),\"failures\":$FAILURES"
for k in $(printf '%s\n' "${!FIG[@]}" | sort); do json+=",\"$k\":${FIG[$k]}"; done
echo "SUMMARY_JSON {$json}"
[ "$FAILURES" = 0 ] || { log "$FAILURES check(s) failed"; exit 1; }
FAILED=0
