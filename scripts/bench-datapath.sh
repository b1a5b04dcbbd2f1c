#!/usr/bin/env bash
# Datapath benchmark: prints figures (it is not a test and judges nothing). Run as root on Linux with the built
# distribution (scripts/build.sh). Needs only what scripts/install-deps.sh installs.
#
#   sudo scripts/bench-datapath.sh [--duration S] [--reps N] [--entries "10 1000 10000"]
#                                  [--endpoints N] [--iterations N] [--skip-throughput] [--skip-latency]
#                                  [--skip-program-cost] [--skip-memory]
#                                  [--tmpdir DIR]   (where the temp dir and agent state go; default /tmp)
#
# 1. Throughput: iperf3 TCP, client namespace -> server namespace over a bridge, DURATION seconds per run, every
#    variant once per repetition (interleaved), the median over REPS repetitions:
#      baseline          endpoints not registered: no program attached, no iptables chain
#      septum N          both namespaces registered, the server's ingress policy holds N entries (checked in
#                        GET /v1/bpf/policy/<server>): 5201 plus N-1 filler ports from the client
#      iptables N        endpoints unregistered (programs detached), a chain jumped from FORWARD for
#                        client->server with N-1 filler ACCEPTs, the 5201 ACCEPT, then DROP (no conntrack
#                        shortcut: every packet walks the chain). Needs br_netfilter with
#                        net.bridge.bridge-nf-call-iptables=1; skipped (and said so) otherwise.
#      nft-set N         endpoints unregistered, an nftables table of its own (hook forward): client->server TCP
#                        to a port in a hash set of N ports (5201 and the N-1 fillers) is accepted, the rest of
#                        client->server dropped: what a user who knows nftables would write. Same needs as
#                        iptables, and the nft command (package nftables); skipped (and said so) otherwise.
#    Then (unless --skip-program-cost) one more run, not counted, with the largest policy and kernel.bpf_stats_enabled
#    set to 1 (restored after): each of Septum's programs on the two veths, its CPU time per run (per packet), from
#    bpftool's run_time_ns and run_cnt.
# 2. Policy import -> enforcement latency with ENDPOINTS endpoints registered: a server listening on TCP 80 isolated by
#    a base policy; per iteration an allow policy for the client is POSTed (by scripts/bench/ApiCall.java, which
#    stamps the request as it writes it) and a Java probe in the client namespace (scripts/bench/LatencyProbe.java,
#    driven over a coproc) reports when a connect first succeeds; then the policy is deleted and the probe waits
#    until connects fail again (the revoke time is printed too).
#    Then (unless --skip-memory) a policy of 10,000 entries on a third endpoint (checked in GET /v1/bpf/policy;
#    none with --endpoints 2),
#    the agent's RSS with those endpoints and entries, its highest RSS (VmHWM) during 20 s of UDP from the client to
#    the isolated server as fast as scripts/bench/FlowLoad.java sends (every datagram a drop event), and its heap in
#    use after a full collection.
#
# Everything it makes (agent process, namespaces, veths, bridge, iptables chain, BPF pins, temp dirs) is removed on
# exit, also on failure or Ctrl-C. Traffic flows only between its own namespaces (10.199.250.0/24 for throughput,
# 10.199.251.0/24 for latency and, past 250 endpoints, the next /24s up to 10.199.254.0/24).
set -Eeuo pipefail
export LC_ALL=C

DURATION=5
REPS=3
ENTRIES="10 1000 10000"
ENDPOINTS=100
ITERATIONS=50
CONNECT_TIMEOUT_MS=2
REVOKE_PACE_MS=10
LATENCY_BUDGET_S=120
DO_THROUGHPUT=1
DO_LATENCY=1
DO_PROG_COST=1
DO_RSS=1
RSS_LOAD_S=20
RSS_ENTRIES=10000
TMP_BASE=/tmp

BENCH_TAG=bench
# shellcheck source=lib/bench-common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/bench-common.sh" # ROOT, DIST
usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; }
bench_options usage --duration=DURATION --reps=REPS --entries=ENTRIES --endpoints=ENDPOINTS --iterations=ITERATIONS \
  --skip-throughput:DO_THROUGHPUT=0 --skip-latency:DO_LATENCY=0 --skip-program-cost:DO_PROG_COST=0 \
  --skip-memory:DO_RSS=0 --tmpdir=TMP_BASE -- "$@"
PROBE_SRC="$ROOT/scripts/bench/LatencyProbe.java"
API_SRC="$ROOT/scripts/bench/ApiCall.java"
LOAD_SRC="$ROOT/scripts/bench/FlowLoad.java"
bench_positive DURATION REPS ENDPOINTS ITERATIONS
[ "$ENDPOINTS" -ge 2 ] && [ "$ENDPOINTS" -le 1000 ] || { echo "bench: --endpoints must be 2..1000" >&2; exit 2; }
for n in $ENTRIES; do
  # write_policy's filler ports are 10000, 10002, ...: 27,769 entries reach port 65534
  [[ $n =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le 27769 ] || { echo "bench: --entries takes counts 1..27769" >&2; exit 2; }
done
MAX_ENTRIES=$(tr ' ' '\n' <<<"$ENTRIES" | grep . | sort -n | tail -n 1)
[ -n "$MAX_ENTRIES" ] || { echo "bench: --entries takes counts 1..27769" >&2; exit 2; }

START_S=$SECONDS
LOAD_START=$(loadavg)

bench_require "network namespaces, tc, iptables, BPF" ip tc ss iperf3 iptables iptables-restore socat curl java timeout jq
[ "$DO_THROUGHPUT" = 0 ] || [ "$DO_PROG_COST" = 0 ] || command -v bpftool >/dev/null ||
  die "bpftool is missing (apt-get install bpftool), or pass --skip-program-cost"
[ -f "$PROBE_SRC" ] || die "missing $PROBE_SRC"
[ -f "$API_SRC" ] || die "missing $API_SRC"

# ---------------------------------------------------------------------------------------------------------------
# Names and cleanup
unused() { bench_names_free "sbench-$1-" "sbb$1" "/sys/fs/bpf/septum-bench-$1"; } # RID
bench_run_dir septum-bench unused # RID, TMP
BPF_DIR="/sys/fs/bpf/septum-bench-$RID"
BR="sbb$RID"
CHAIN="SEPTBENCH-$RID"
SOCK="$TMP/run/septum.sock"
NETNS_MADE=()
LINKS_MADE=()
PIDS=()
REGISTERED=()
AGENT_PID=
JUMP_SPEC=()
FAILED=1

NFT_TABLE="septum_bench_$RID"
NFT_LOADED=0
nft_unload() {
  [ "$NFT_LOADED" = 1 ] || return 0
  nft delete table ip "$NFT_TABLE" 2>/dev/null
  NFT_LOADED=0
  return 0
}

ipt_unload() {
  [ ${#JUMP_SPEC[@]} -gt 0 ] || return 0
  for _ in 1 2 3 4 5; do iptables -w 10 -D FORWARD "${JUMP_SPEC[@]}" 2>/dev/null || break; done
  iptables -w 10 -F "$CHAIN" 2>/dev/null
  iptables -w 10 -X "$CHAIN" 2>/dev/null
  JUMP_SPEC=()
  return 0
}

cleanup() {
  bpf_stats_restore
  if [ -n "${PROBE_PID:-}" ] && kill -0 "$PROBE_PID" 2>/dev/null; then
    [ -z "${PROBE[1]:-}" ] || echo quit >&"${PROBE[1]}" 2>/dev/null
    for _ in $(seq 1 20); do kill -0 "$PROBE_PID" 2>/dev/null || break; sleep 0.1; done
    kill "$PROBE_PID" 2>/dev/null
  fi
  ipt_unload
  nft_unload
  bench_stop_agent
  bench_agent_log_tail 25
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  local left=""
  iptables -w 5 -S "$CHAIN" >/dev/null 2>&1 && left=" iptables chain $CHAIN"
  command -v nft >/dev/null && nft list table ip "$NFT_TABLE" >/dev/null 2>&1 && left+=" nftables table $NFT_TABLE"
  # with what still runs in the namespaces (socat children, iperf3)
  bench_remove_topology "sbench-$RID-" '/sys/fs/bpf/septum-bench-????' 'septum-bench.??????' "$left"
}
bench_traps err

# ---------------------------------------------------------------------------------------------------------------
# Agent and API (the rest is in lib/bench-common.sh)
attached() { # VETH: 0 when Septum's programs are on both hooks
  tc filter show dev "$1" ingress 2>/dev/null | grep -q septum_ && tc filter show dev "$1" egress 2>/dev/null | grep -q septum_
}

wait_attached() { # VETH yes|no TIMEOUT_S
  local t0=$SECONDS
  while :; do
    if attached "$1"; then [ "$2" = yes ] && return 0; else [ "$2" = no ] && return 0; fi
    [ $((SECONDS - t0)) -lt "$3" ] || die "programs on $1: expected attached=$2 after $3 s"
    sleep 0.1
  done
}

unregister() { # NAME
  api DELETE "/v1/endpoints/default%2F$1" >/dev/null
  local keep=() n
  for n in "${REGISTERED[@]}"; do [ "$n" = "$1" ] || keep+=("$n"); done
  REGISTERED=("${keep[@]}")
}

# ---------------------------------------------------------------------------------------------------------------
# Topology: a bridge, and per node a namespace whose eth0 is a veth peer on it (as NetLab builds them)
make_bridge() {
  ip link add "$BR" type bridge
  LINKS_MADE+=("$BR")
  ip link set "$BR" up
}

node_ip() { # SUBNET I: the I-th node's address, 250 to a /24 from 10.199.SUBNET.1 on
  echo "10.199.$(($1 + ($2 - 1) / 250)).$((($2 - 1) % 250 + 1))"
}

make_nodes() { # PREFIX FIRST LAST SUBNET: namespaces sbench-RID-PREFIXi, host veths sbRIDPREFIXi, node_ip SUBNET i
  local prefix=$1 first=$2 last=$3 subnet=$4 i batch=""
  for ((i = first; i <= last; i++)); do
    NETNS_MADE+=("sbench-$RID-$prefix$i")
    LINKS_MADE+=("sb$RID$prefix$i")
    batch+="netns add sbench-$RID-$prefix$i"$'\n'
    batch+="link add sb$RID$prefix$i type veth peer name eth0 netns sbench-$RID-$prefix$i"$'\n'
    batch+="link set sb$RID$prefix$i master $BR up"$'\n'
  done
  ip -batch - <<<"$batch"
  for ((i = first; i <= last; i++)); do
    # no IPv6 on the host end: neighbour discovery chatter is not what we measure
    echo 1 >"/proc/sys/net/ipv6/conf/sb$RID$prefix$i/disable_ipv6" 2>/dev/null || true
    bench_netns_up "sbench-$RID-$prefix$i" "$(node_ip "$subnet" "$i")"
  done
}

# ---------------------------------------------------------------------------------------------------------------
# Figures
median() { { tr ' ' '\n' | grep -v -e '^$' -e NA || true; } | sort -g | awk '{a[NR]=$1} END {if (NR==0) print "NA"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

percentiles() { # reads ms values, prints "n min p50 p99 max mean" (nearest-rank percentiles)
  sort -g | awk '{a[NR]=$1; s+=$1} END {
    if (NR == 0) { print "0 NA NA NA NA NA"; exit }
    p50 = int(0.50 * NR); if (p50 < 0.50 * NR) p50++
    p99 = int(0.99 * NR); if (p99 < 0.99 * NR) p99++
    printf "%d %.1f %.1f %.1f %.1f %.1f\n", NR, a[1], a[p50], a[p99], a[NR], s / NR }'
}

# ---------------------------------------------------------------------------------------------------------------
declare -A TP TP_NOTE
VARIANTS=()

# N FILE NAME TO FROM: one CNP named NAME whose ingress lets app=FROM reach app=TO on TCP 5201 and N-1 filler ports
# (40 per rule): N entries in TO's policy map
write_policy() {
  local n=$1 ports=(5201) p=10000 i=0
  # fillers 2 apart, so that no two share an aligned port prefix and each stays one map entry
  while [ ${#ports[@]} -lt "$n" ]; do ports+=($p); p=$((p + 2)); done
  {
    printf 'apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: %s\n  namespace: default\n' "$3"
    printf 'spec:\n  endpointSelector:\n    matchLabels:\n      app: %s\n  ingress:\n' "$4"
    while [ $i -lt ${#ports[@]} ]; do
      printf '  - fromEndpoints:\n    - matchLabels:\n        app: %s\n    toPorts:\n    - ports:\n' "$5"
      for p in "${ports[@]:i:40}"; do printf '      - port: "%s"\n        protocol: TCP\n' "$p"; done
      i=$((i + 40))
    done
  } >"$2"
}

wait_entries() { # ENDPOINT N TIMEOUT_S: until GET /v1/bpf/policy/ENDPOINT lists N entries
  local t0=$SECONDS entries
  while :; do
    entries=$(api GET "/v1/bpf/policy/$1" | grep -o '"direction":' | wc -l) || true
    [ "$entries" -eq "$2" ] && break
    [ $((SECONDS - t0)) -lt "$3" ] || die "the BPF policy of $1 holds $entries entries, expected $2"
    sleep 0.2
  done
}

throughput() {
  local C="sbench-$RID-c1" S="sbench-$RID-s2" CV="sb${RID}c1" SV="sb${RID}s2" CIP=10.199.250.1 SIP=10.199.250.2
  make_nodes c 1 1 250
  make_nodes s 2 2 250
  ip netns exec "$S" iperf3 -s -B "$SIP" >"$TMP/iperf3-server.log" 2>&1 &
  PIDS+=($!)
  wait_listening "$S" 5201 10

  IPT_SKIP=""
  local brnf=/proc/sys/net/bridge/bridge-nf-call-iptables
  if [ ! -e $brnf ]; then
    IPT_SKIP="br_netfilter is not loaded ($brnf missing): bridged packets never reach iptables; this script does not load modules"
  elif [ "$(cat $brnf)" != 1 ]; then
    IPT_SKIP="net.bridge.bridge-nf-call-iptables=$(cat $brnf): bridged packets bypass iptables; this script does not change host sysctls"
  elif ! iptables -w 5 -S FORWARD >/dev/null 2>&1; then
    IPT_SKIP="iptables -S FORWARD fails: $(iptables -w 5 -S FORWARD 2>&1 | head -1)"
  fi
  [ -z "$IPT_SKIP" ] || log "iptables figures skipped: $IPT_SKIP"

  VARIANTS=("baseline|-")
  for n in $ENTRIES; do VARIANTS+=("septum|$n"); done
  [ -n "$IPT_SKIP" ] || for n in $ENTRIES; do VARIANTS+=("iptables|$n"); done
  NFT_SKIP=$IPT_SKIP
  [ -n "$NFT_SKIP" ] || command -v nft >/dev/null || NFT_SKIP="the nft command is missing (apt-get install nftables)"
  [ -n "$NFT_SKIP" ] || for n in $ENTRIES; do VARIANTS+=("nft-set|$n"); done

  write_ipt() { # N FILE: N-1 filler ACCEPTs, the 5201 ACCEPT, DROP; jumped from FORWARD for client->server
    local n=$1 p=10000 k
    {
      echo '*filter'
      echo ":$CHAIN - [0:0]"
      for ((k = 1; k < n; k++)); do
        echo "-A $CHAIN -s $CIP/32 -d $SIP/32 -p tcp -m tcp --dport $p -j ACCEPT"
        p=$((p + 2))
      done
      echo "-A $CHAIN -s $CIP/32 -d $SIP/32 -p tcp -m tcp --dport 5201 -j ACCEPT"
      echo "-A $CHAIN -j DROP"
      echo "-I FORWARD 1 -s $CIP/32 -d $SIP/32 -j $CHAIN"
      echo 'COMMIT'
    } >"$2"
  }

  write_nft() { # N FILE: a table of its own; client->server TCP to one of N ports (a hash set) accepted, else dropped
    local n=$1 p=10000 k ports=(5201)
    for ((k = 1; k < n; k++)); do ports+=($p); p=$((p + 2)); done
    {
      echo "table ip $NFT_TABLE {"
      echo "  set allowed { type inet_service; size $((n + 16)); elements = { $(IFS=,; echo "${ports[*]}") } }"
      echo "  chain forward {"
      echo "    type filter hook forward priority filter - 1; policy accept;"
      echo "    ip saddr $CIP ip daddr $SIP tcp dport @allowed counter accept"
      echo "    ip saddr $CIP ip daddr $SIP drop"
      echo "  }"
      echo "}"
    } >"$2"
  }
  nft_packets() { nft list chain ip "$NFT_TABLE" forward | awk '/@allowed counter/ {for (i = 1; i < NF; i++) if ($i == "packets") print $(i+1)}'; }

  run_iperf() { # prints Mbit/s received, or NA
    local out
    if ! out=$(timeout $((DURATION + 20)) ip netns exec "$C" iperf3 -c "$SIP" -t "$DURATION" -f m \
               --connect-timeout 3000 2>&1); then
      log "iperf3 failed: $(tail -n 2 <<<"$out" | tr '\n' ' ')"
      echo NA
      return
    fi
    awk '/receiver/ {for (i = 2; i <= NF; i++) if ($i == "Mbits/sec") v = $(i-1)} END {print (v == "" ? "NA" : v)}' <<<"$out"
  }

  detach_tp() { # the throughput endpoints unregistered and their programs gone (their policy with them)
    if attached "$SV" || attached "$CV"; then
      api DELETE /v1/policies/default/bench-ingress >/dev/null || true
      unregister tp-server
      unregister tp-client
      wait_attached "$SV" no 30
      wait_attached "$CV" no 30
    fi
  }

  septum_with() { # N: both endpoints registered, their programs attached, and a policy of N entries enforced
    local n=$1 t0
    if ! attached "$SV"; then
      register tp-server "$SV" "$S" "$SIP"
      register tp-client "$CV" "$C" "$CIP"
      wait_ready tp- 2 60
      wait_attached "$SV" yes 30
      wait_attached "$CV" yes 30
    fi
    write_policy "$n" "$TMP/policy-$n.yaml" bench-ingress tp-server tp-client
    rev=$(import_policy "$TMP/policy-$n.yaml")
    wait_revision tp- "$rev" 60
    wait_entries tp-server "$n" 60
    log "septum: $n entries in GET /v1/bpf/policy/tp-server"
  }

  bpf_5201_packets() { api GET /v1/bpf/policy/tp-server | grep -o '"ports":"5201"[^}]*' | grep -o '"packets":[0-9]*' | cut -d: -f2; }
  ipt_5201_packets() { iptables -w 10 -L "$CHAIN" -v -x -n | awk '/dpt:5201/ {print $1}'; }

  local rep v kind n mbit entries before after j nv=${#VARIANTS[@]}
  for ((rep = 1; rep <= REPS; rep++)); do
    # each repetition starts one variant later, so that a burst of load elsewhere does not always hit the same one
    for ((j = 0; j < nv; j++)); do
      v=${VARIANTS[$(((j + rep - 1) % nv))]}
      kind=${v%%|*}
      n=${v#*|}
      case $kind in
        baseline)
          detach_tp
          ;;
        septum)
          septum_with "$n"
          TP_NOTE["$v"]="$n entries in the BPF policy map"
          if [ -z "${DROP_CHECKED:-}" ]; then
            DROP_CHECKED=1
            port_dropped "$C" "$SIP" 5202 || die "Septum does not drop client->server TCP 5202 (not in the policy)"
            log "septum: client->server TCP 5202 (no policy entry) is dropped: enforcing"
          fi
          before=$(bpf_5201_packets) || true
          ;;
        iptables)
          detach_tp
          write_ipt "$n" "$TMP/ipt-$n.rules"
          JUMP_SPEC=(-s "$CIP/32" -d "$SIP/32" -j "$CHAIN")
          iptables-restore -w 10 --noflush <"$TMP/ipt-$n.rules"
          entries=$(iptables -w 10 -S "$CHAIN" | grep -c -- '-j ACCEPT')
          TP_NOTE["$v"]="$entries ACCEPT rules + DROP in $CHAIN"
          log "iptables: $entries ACCEPT rules + DROP in chain $CHAIN"
          before=$(ipt_5201_packets)
          ;;
        nft-set)
          detach_tp
          write_nft "$n" "$TMP/nft-$n.rules"
          NFT_LOADED=1
          nft -f "$TMP/nft-$n.rules"
          entries=$(nft -j list set ip "$NFT_TABLE" allowed | jq '[.nftables[] | select(.set) | .set.elem | length] | add') || true
          TP_NOTE["$v"]="$entries ports in the set of table $NFT_TABLE"
          log "nft-set: $entries ports in the set, table $NFT_TABLE"
          before=$(nft_packets)
          ;;
      esac
      mbit=$(run_iperf)
      case $kind in
        septum)
          after=$(bpf_5201_packets) || true
          [ "${after:-0}" -gt "${before:-0}" ] || { log "septum $n: the 5201 entry's packet counter did not grow: figure discarded"; mbit=NA; }
          ;;
        iptables)
          after=$(ipt_5201_packets)
          if [ "${after:-0}" -gt "${before:-0}" ]; then
            log "iptables $n: the 5201 rule counted $((after - before)) packets: traffic went through the chain"
          else
            log "iptables $n: the 5201 rule's counter did not grow: traffic bypassed the chain, figure discarded"
            mbit=NA
          fi
          ipt_unload
          ;;
        nft-set)
          after=$(nft_packets)
          if [ "${after:-0}" -gt "${before:-0}" ]; then
            log "nft-set $n: the set rule counted $((after - before)) packets: traffic went through the table"
          else
            log "nft-set $n: the set rule's counter did not grow: traffic bypassed the table, figure discarded"
            mbit=NA
          fi
          nft_unload
          ;;
      esac
      log "rep $rep/$REPS: $kind $n: $mbit Mbit/s"
      TP["$v"]+="$mbit "
    done
  done
  [ "$DO_PROG_COST" = 0 ] || program_cost
  # the latency test counts on exactly its own endpoints
  detach_tp
}

# One more iperf3 run, not counted above, with the largest policy and kernel.bpf_stats_enabled=1 (the kernel then
# times every program run, which costs a little itself: that is why the measured runs go without it): the CPU time
# per run of each program on the two veths, from bpftool's run_time_ns and run_cnt before and after.
declare -a PROG_COST=()
program_cost() {
  local n=$MAX_ENTRIES dev hook id name before after
  septum_with "$n"
  declare -A progs=() where=()
  for dev in "$CV" "$SV"; do
    for hook in ingress egress; do
      while read -r id name; do
        progs[$id]=$name
        where[$id]+="${where[$id]:+, }$dev $hook"
      done < <(tc filter show dev "$dev" "$hook" | sed -n 's/.* id \([0-9]*\) name \(septum_[a-z_0-9]*\) .*/\1 \2/p')
    done
  done
  [ ${#progs[@]} -gt 0 ] || { log "program cost: no septum_ program found on $CV or $SV"; return; }
  BPF_STATS_WAS=$(cat /proc/sys/kernel/bpf_stats_enabled 2>/dev/null) || true
  if [ -z "$BPF_STATS_WAS" ] || ! echo 1 2>/dev/null >/proc/sys/kernel/bpf_stats_enabled; then
    BPF_STATS_WAS=
    log "program cost: kernel.bpf_stats_enabled cannot be set here: not measured"
    return
  fi
  before=$(prog_runs "${!progs[@]}") || before=
  PROG_COST_MBIT=$(run_iperf)
  after=$(prog_runs "${!progs[@]}") || after=
  bpf_stats_restore
  [ -n "$before" ] && [ -n "$after" ] || { log "program cost: bpftool could not read the programs' counters"; return; }
  local ns runs
  for id in "${!progs[@]}"; do
    # this program's run time and run count, before and after: "ns-per-run runs", or "- 0" without a run
    read -r ns runs < <(awk -v id="$id" 'FNR == 1 { f++ } $1 == id { c[f] = $2; t[f] = $3 }
      END { runs = c[2] - c[1]; if (runs > 0) printf "%.0f %d\n", (t[2] - t[1]) / runs, runs; else print "- 0" }' \
      <(echo "$before") <(echo "$after"))
    if [ "$runs" -gt 0 ]; then
      PROG_COST+=("$(printf '%-22s %8s ns per run  %10d runs  (id %s on %s)' "${progs[$id]}" "$ns" "$runs" "$id" "${where[$id]}")")
    else
      PROG_COST+=("$(printf '%-22s       no runs  (id %s on %s)' "${progs[$id]}" "$id" "${where[$id]}")")
    fi
    # the figure the key carries: septum_to_ep, one program on both veths, so the server's packets (judged against
    # the policy of MAX_ENTRIES entries) and the client's (the ACKs, against none) averaged
    [ "${progs[$id]}" != septum_to_ep ] || [ "$runs" = 0 ] || PROG_COST_TO_EP=$ns
  done
  log "program cost: ${#progs[@]} program(s) timed over one run with $n entries ($PROG_COST_MBIT Mbit/s with stats on)"
}
prog_runs() { # ID...: "id run_cnt run_time_ns", one line a program
  local id
  for id in "$@"; do
    bpftool prog show id "$id" --json | jq -r '"\(.id) \(.run_cnt // 0) \(.run_time_ns // 0)"'
  done
}
bpf_stats_restore() { # kernel.bpf_stats_enabled as it was before program_cost
  [ -z "${BPF_STATS_WAS:-}" ] || echo "$BPF_STATS_WAS" >/proc/sys/kernel/bpf_stats_enabled
  BPF_STATS_WAS=
}

# ---------------------------------------------------------------------------------------------------------------
declare -a LAT_OPEN LAT_CLOSE LAT_POST LAT_DEL
# The latency run's API client (scripts/bench/ApiCall.java), one JVM for the whole run behind two FIFOs: it stamps
# each request as it writes it, so the figures start when the agent can first see a request.
API_PID=
api_client_start() {
  local reply
  mkfifo "$TMP/api.in" "$TMP/api.out"
  java -XX:+UseSerialGC -Xmx64m "$API_SRC" "$SOCK" <"$TMP/api.in" >"$TMP/api.out" 2>"$TMP/api.err" &
  API_PID=$!
  PIDS+=("$API_PID")
  exec {API_IN}>"$TMP/api.in" {API_OUT}<"$TMP/api.out"
  read -r -t 90 -u "$API_OUT" reply || die "the API client did not start within 90 s: $(cat "$TMP/api.err")"
  [ "$reply" = ready ] || die "API client: $reply $(cat "$TMP/api.err")"
}

CALL_SENT= CALL_ANSWERED= CALL_REV=
api_call() { # post PATH ORIGIN FILE | delete PATH: sets CALL_SENT, CALL_ANSWERED (ns since the epoch), CALL_REV
  local r tok
  # a write to a FIFO nobody reads would end the script with SIGPIPE and no word of why
  kill -0 "$API_PID" 2>/dev/null || die "the API client exited: $(cat "$TMP/api.err")"
  echo "$*" >&"$API_IN"
  read -r -t 60 -u "$API_OUT" r || die "the API client did not answer \"$*\" within 60 s: $(cat "$TMP/api.err")"
  read -r tok CALL_SENT CALL_ANSWERED CALL_REV <<<"$r"
  [ "$tok" = ok ] || die "$1 $2: $r"
  [[ $CALL_REV =~ ^[0-9]+$ ]] || die "$1 $2: the answer carries no revision ($r)"
}

api_client_stop() {
  echo quit >&"$API_IN"
  exec {API_IN}>&- {API_OUT}<&-
}

latency() {
  local N=$ENDPOINTS i SNS="sbench-$RID-n1" CNS="sbench-$RID-n2" SIP=10.199.251.1
  log "latency: creating $N namespaces"
  make_nodes n 1 "$N" 251
  ip netns exec "$SNS" socat -T 2 TCP4-LISTEN:80,fork,reuseaddr,backlog=512 OPEN:/dev/null,rdonly \
    >"$TMP/socat.log" 2>&1 &
  PIDS+=($!)
  wait_listening "$SNS" 80 10

  log "latency: registering $N endpoints"
  local t0=$SECONDS name
  for ((i = 1; i <= N; i++)); do
    case $i in 1) name=lt-server ;; 2) name=lt-client ;; *) name=lt-filler-$i ;; esac
    register "$name" "sb${RID}n$i" "sbench-$RID-n$i" "$(node_ip 251 "$i")"
  done
  wait_ready lt- "$N" 180
  LAT_REGISTER_S=$((SECONDS - t0))
  LAT_ENDPOINTS=$(endpoints_json | grep -c '"state":"ready"')
  log "latency: $LAT_ENDPOINTS endpoints ready ($N registered in ${LAT_REGISTER_S} s)"

  from_app() { # NAME APP: a policy admitting to lt-server only what is labelled app=APP (the allow adds its port)
    cat <<EOF
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: $1
  namespace: default
spec:
  endpointSelector:
    matchLabels:
      app: lt-server
  ingress:
  - fromEndpoints:
    - matchLabels:
        app: $2
EOF
  }
  from_app bench-isolate nobody-has-this-label >"$TMP/isolate.yaml"
  {
    from_app bench-allow lt-client
    printf '    toPorts:\n    - ports:\n      - port: "80"\n        protocol: TCP\n'
  } >"$TMP/allow.yaml"
  local rev
  rev=$(import_policy "$TMP/isolate.yaml")
  wait_revision lt- "$rev" 60

  log "latency: starting the probe in $CNS (java source launcher)"
  coproc PROBE { exec ip netns exec "$CNS" java -XX:+UseSerialGC -Xmx64m "$PROBE_SRC" "$SIP" 80 "$CONNECT_TIMEOUT_MS" 2>"$TMP/probe.err"; }
  local reply
  read -r -t 90 -u "${PROBE[0]}" reply || die "the probe did not start within 90 s: $(cat "$TMP/probe.err")"
  [[ $reply == ready* ]] || die "probe: $reply $(cat "$TMP/probe.err")"
  echo "closed 10000 5" >&"${PROBE[1]}"
  read -r -t 40 -u "${PROBE[0]}" reply || die "the probe did not answer within 40 s: $(cat "$TMP/probe.err")"
  [[ $reply == closed* ]] || die "the base policy does not isolate the server (probe: $reply)"
  api_client_start
  log "latency: server isolated; $ITERATIONS iterations (budget ${LATENCY_BUDGET_S} s)"

  local it t0ns tpost r tok attempts fails=0 lstart=$SECONDS
  LAT_ATTEMPTS_TOTAL=0
  LAT_PROBE_NS_TOTAL=0
  for ((it = 1; it <= ITERATIONS; it++)); do
    if [ $((SECONDS - lstart)) -ge "$LATENCY_BUDGET_S" ]; then
      log "latency: time budget of ${LATENCY_BUDGET_S} s used up after $((it - 1)) iterations"
      break
    fi
    # the probe is connecting (and failing) before the clock starts
    echo "open 30000" >&"${PROBE[1]}"
    api_call post /v1/policies allow.yaml "$TMP/allow.yaml"
    rev=$CALL_REV t0ns=$CALL_SENT tpost=$CALL_ANSWERED
    read -r -t 40 -u "${PROBE[0]}" r || die "the probe did not answer within 40 s"
    read -r tok tns attempts <<<"$r"
    if [ "$tok" = open ]; then
      LAT_OPEN+=("$(awk -v a="$tns" -v b="$t0ns" 'BEGIN {printf "%.3f", (a - b) / 1e6}')")
      LAT_POST+=("$(awk -v a="$tpost" -v b="$t0ns" 'BEGIN {printf "%.3f", (a - b) / 1e6}')")
      LAT_ATTEMPTS_TOTAL=$((LAT_ATTEMPTS_TOTAL + attempts))
      LAT_PROBE_NS_TOTAL=$((LAT_PROBE_NS_TOTAL + tns - t0ns))
    else
      log "latency: iteration $it: no successful connect within 30 s ($r)"
      fails=$((fails + 1))
      [ $fails -lt 3 ] || die "3 iterations without enforcement of the allow policy"
    fi
    wait_revision lt- "$rev" 30
    echo "closed 30000 5 $REVOKE_PACE_MS" >&"${PROBE[1]}"
    api_call delete /v1/policies/default/bench-allow
    rev=$CALL_REV t0ns=$CALL_SENT tpost=$CALL_ANSWERED
    LAT_DEL+=("$(awk -v a="$tpost" -v b="$t0ns" 'BEGIN {printf "%.3f", (a - b) / 1e6}')")
    read -r -t 40 -u "${PROBE[0]}" r || die "the probe did not answer within 40 s"
    read -r tok tns attempts <<<"$r"
    [ "$tok" = closed ] || die "iteration $it: connects still succeed 30 s after the allow policy was deleted ($r)"
    LAT_CLOSE+=("$(awk -v a="$tns" -v b="$t0ns" 'BEGIN {printf "%.3f", (a - b) / 1e6}')")
    # every endpoint has realised the deletion before the next import
    wait_revision lt- "$rev" 30
  done
  echo quit >&"${PROBE[1]}"
  api_client_stop
  [ "$DO_RSS" = 0 ] || memory_under_load "$CNS" "$SIP"
}

# The agent's memory with the latency run's endpoints and a policy of RSS_ENTRIES entries on a third one (the
# goal's condition; none with fewer than 3 endpoints): its RSS as they stand, then the highest RSS while the client
# sends UDP datagrams to the isolated server as fast as two sender threads can (scripts/bench/FlowLoad.java: every
# datagram is one drop event, so the flow path runs at its maximum), then the heap in use after a full collection.
RSS_IDLE= RSS_PEAK= RSS_HEAP= RSS_SENT= RSS_HELD=0
memory_under_load() { # CLIENT_NS SERVER_IP
  local load_out peak=0 r t0=$SECONDS rev
  if [ "$ENDPOINTS" -ge 3 ]; then
    log "memory: a policy of $RSS_ENTRIES entries on lt-filler-3"
    write_policy "$RSS_ENTRIES" "$TMP/memory.yaml" bench-memory lt-filler-3 lt-client
    rev=$(import_policy "$TMP/memory.yaml")
    wait_revision lt- "$rev" 120
    wait_entries lt-filler-3 "$RSS_ENTRIES" 120
    RSS_HELD=$RSS_ENTRIES
  fi
  t0=$SECONDS
  RSS_IDLE=$(( $(bench_rss_kib "$AGENT_PID") / 1024 ))
  log "memory: agent RSS ${RSS_IDLE} MiB with $LAT_ENDPOINTS endpoints and $RSS_HELD more policy entries; ${RSS_LOAD_S} s of flow load next"
  # the kernel's own peak (VmHWM) from here on, beside the samples below: a sample every 0.5 s can miss a peak
  local hwm=0
  echo 5 2>/dev/null >"/proc/$AGENT_PID/clear_refs" && hwm=1
  ip netns exec "$1" java -XX:+UseSerialGC -Xmx64m "$LOAD_SRC" "$2" 9 "$RSS_LOAD_S" 64 --threads 2 \
    >"$TMP/load.out" 2>"$TMP/load.err" &
  local load_pid=$!
  PIDS+=("$load_pid")
  while kill -0 "$load_pid" 2>/dev/null; do
    r=$(bench_rss_kib "$AGENT_PID")
    [ "${r:-0}" -le "$peak" ] || peak=$r
    [ $((SECONDS - t0)) -lt $((RSS_LOAD_S + 60)) ] || { kill "$load_pid"; die "the flow load did not end"; }
    sleep 0.5
  done
  wait "$load_pid" || die "the flow load failed: $(cat "$TMP/load.err")"
  if [ "$hwm" = 1 ]; then
    r=$(awk '/^VmHWM/ {print $2}' "/proc/$AGENT_PID/status")
    [ "${r:-0}" -le "$peak" ] || peak=$r
  fi
  RSS_PEAK=$((peak / 1024))
  read -r RSS_SENT _ <"$TMP/load.out" || true
  RSS_HEAP=$(bench_heap_after_gc "$AGENT_PID")
  log "memory: peak RSS ${RSS_PEAK} MiB under load (${RSS_SENT:-?} datagrams sent), heap after a full GC ${RSS_HEAP} MiB"
}

# ===============================================================================================================
make_bridge
bench_copy_dist
bench_start_agent
[ "$DO_THROUGHPUT" = 0 ] || throughput
[ "$DO_LATENCY" = 0 ] || latency

# ---------------------------------------------------------------------------------------------------------------
bench_report_head datapath "$START_S" "$LOAD_START"
echo "tools: $(iperf3 --version | head -1); $(iptables -V); $(java -version 2>&1 | head -1)"
if [ "$DO_THROUGHPUT" = 1 ]; then
  echo
  echo "Throughput: iperf3 TCP, 1 stream, client netns -> server netns over a Linux bridge, ${DURATION} s per run,"
  echo "median of $REPS interleaved repetitions; best = the fastest run in Gbit/s; every run in Mbit/s in brackets"
  base=$(median <<<"${TP["baseline|-"]}")
  printf '%-10s %8s %9s %12s %6s  %s\n' variant entries Gbit/s "% baseline" best "runs (Mbit/s)"
  for v in "${VARIANTS[@]}"; do
    m=$(median <<<"${TP[$v]}")
    if [ "$m" = NA ]; then g=NA; pct=NA; else
      g=$(awk -v m="$m" 'BEGIN {printf "%.2f", m / 1000}')
      pct=$(awk -v m="$m" -v b="$base" 'BEGIN {if (b == "NA" || b == 0) print "NA"; else printf "%.0f%%", 100 * m / b}')
    fi
    best=$(tr ' ' '\n' <<<"${TP[$v]}" | grep -v '^$' | grep -v NA | sort -g | awk 'END {if (NR) printf "%.2f", $1 / 1000; else print "NA"}')
    printf '%-10s %8s %9s %12s %6s  [%s]\n' "${v%%|*}" "${v#*|}" "$g" "$pct" "$best" "$(echo ${TP[$v]})"
  done
  for v in "${VARIANTS[@]}"; do [ -z "${TP_NOTE[$v]:-}" ] || echo "  ${v%%|*} ${v#*|}: ${TP_NOTE[$v]}"; done
  [ -z "$IPT_SKIP" ] || echo "iptables figures skipped: $IPT_SKIP"
  [ -n "$IPT_SKIP" ] || [ -z "$NFT_SKIP" ] || echo "nft-set figures skipped: $NFT_SKIP"
  ratio_of() { # VARIANT: its median over the baseline's, or NA
    awk -v m="$(median <<<"${TP[$1]:-}")" -v b="$base" 'BEGIN {if (m == "NA" || b == "NA" || b == 0) print "NA"; else printf "%.3f", m / b}'
  }
  bench_figure throughput_10k_ratio "$(ratio_of "septum|10000")"
  bench_figure iptables_10k_ratio "$(ratio_of "iptables|10000")"
  bench_figure nft_set_10k_ratio "$(ratio_of "nft-set|10000")"
  if [ ${#PROG_COST[@]} -gt 0 ]; then
    echo
    echo "BPF programs: CPU time per run (kernel.bpf_stats_enabled=1) over one more ${DURATION} s iperf3 run with"
    echo "$MAX_ENTRIES policy entries on the server, not counted above (${PROG_COST_MBIT:-NA} Mbit/s with the kernel timing"
    echo "each run). One program serves every endpoint, so a figure averages the client's and the server's packets:"
    printf '  %s\n' "${PROG_COST[@]}"
    [ "$MAX_ENTRIES" != 10000 ] || bench_figure bpf_to_ep_ns_per_packet_10k "${PROG_COST_TO_EP:-NA}"
  fi
fi
if [ "$DO_LATENCY" = 1 ]; then
  echo
  echo "Policy import -> enforcement, $LAT_ENDPOINTS endpoints registered (registered in ${LAT_REGISTER_S} s):"
  echo "from the moment POST /v1/policies is written to the API socket until the first TCP connect from the client"
  echo "namespace succeeds (the client runs for the whole run, so no client start-up is counted)"
  read -r n mn p50 p99 mx mean <<<"$(printf '%s\n' "${LAT_OPEN[@]}" | percentiles)"
  # the key by what was asked for: a count of ready endpoints one short must not pass for the 100-endpoint figure
  if [ "$ENDPOINTS" -ge 1000 ]; then bench_figure import_enforce_1k_endpoints_p99_ms "$p99"; else bench_figure import_enforce_p99_ms "$p99"; fi
  per=$(awk -v t="$LAT_PROBE_NS_TOTAL" -v a="$LAT_ATTEMPTS_TOTAL" 'BEGIN {if (a) printf "%.2f", t / a / 1e6; else print "NA"}')
  printf '  allow:  samples %d  p50 %s ms  p99 %s ms  max %s ms  (min %s, mean %s)\n' "$n" "$p50" "$p99" "$mx" "$mn" "$mean"
  read -r n mn p50 p99 mx mean <<<"$(printf '%s\n' "${LAT_POST[@]}" | percentiles)"
  printf '  (the POST itself answered after: p50 %s ms, p99 %s ms, max %s ms)\n' "$p50" "$p99" "$mx"
  read -r n mn p50 p99 mx mean <<<"$(printf '%s\n' "${LAT_CLOSE[@]}" | percentiles)"
  [ "$ENDPOINTS" -ge 1000 ] || bench_figure revoke_p99_ms "$p99"
  printf '  revoke: samples %d  p50 %s ms  p99 %s ms  max %s ms  (DELETE until the first of 5 connects in a row that time out;\n          connects %s ms apart while they still succeed, so this one is within ~%s ms)\n' "$n" "$p50" "$p99" "$mx" "$REVOKE_PACE_MS" "$((REVOKE_PACE_MS + 2))"
  read -r n mn p50 p99 mx mean <<<"$(printf '%s\n' "${LAT_DEL[@]}" | percentiles)"
  printf '  (the DELETE itself answered after: p50 %s ms, p99 %s ms, max %s ms)\n' "$p50" "$p99" "$mx"
  echo "  granularity: one connect attempt per ${per} ms on average (connect timeout ${CONNECT_TIMEOUT_MS} ms, Java probe"
  echo "  in the client netns)."
  echo "  percentiles are nearest-rank: with fewer than 100 samples p99 is the maximum."
  if [ -n "$RSS_PEAK" ]; then
    echo
    if [ "$RSS_HELD" -gt 0 ]; then held=" and a policy of $RSS_HELD entries on one of them"; else held=" (fewer than 3: no policy of $RSS_ENTRIES entries)"; fi
    echo "Agent memory with $LAT_ENDPOINTS endpoints$held (heap limit as bin/septum sets it):"
    printf '  RSS %s MiB; highest RSS during %s s of flow load %s MiB (%s datagrams sent, each a drop event);
' \
      "$RSS_IDLE" "$RSS_LOAD_S" "$RSS_PEAK" "${RSS_SENT:-?}"
    printf '  heap in use after a full GC then %s MiB\n' "$RSS_HEAP"
    [ "$ENDPOINTS" -lt 1000 ] || [ "$RSS_HELD" -lt 10000 ] || bench_figure rss_mib_1k_endpoints "$RSS_PEAK"
  fi
fi
echo
bench_report_agent_log
FAILED=0
