#!/usr/bin/env bash
# L7 proxy benchmark: prints figures (it is not a test and judges nothing). Run as root on Linux with the built
# distribution (scripts/build.sh). Needs only what scripts/install-deps.sh installs (wrk among them).
#
#   sudo scripts/bench-l7.sh [--duration S] [--reps N] [--conns "1 16 64"] [--server-threads N]
#                            [--skip-loopback] [--no-flow-log] [--warmup S] [--tmpdir DIR]   (where the temp dir and
#                            agent state go)
#
# wrk (HTTP/1.1 keep-alive, GET /) from a client namespace to a server namespace over a bridge whose host side holds
# 10.198.<s>.254/24 (the proxy's upstream leg leaves from the host), DURATION seconds per run, for each connection
# count the configurations back to back, the order rotated per repetition, the median over REPS repetitions:
#   none      both namespaces registered as endpoints, no policy (baseline)
#   l3l4      a CiliumNetworkPolicy admitting the client to the server on TCP 80 (no proxy)
#   l7        the same rule with the seed's L7 form, rules.http method GET path "/": every connection goes through
#             the agent's transparent HTTP proxy (checked: GET /other gets 403 "Access denied")
#   loopback  (unless --skip-loopback) wrk inside the server namespace to 127.0.0.1: what the server alone does
# The server is scripts/bench/HttpServer.java (NIO, keep-alive, SERVER_THREADS threads). Besides requests/s and
# p50/p99 it prints the agent's and the server's CPU time during the runs (utime+stime from /proc; the agent's
# kernel part, stime, on its own as "sys us" per request) and the load
# average before each run: the machine may be shared. --no-flow-log starts the agent with the observer's flow log
# off (logEnabled=false): the proxy's L7 flows are still enriched and kept in the in-memory ring, not written.
#
# Everything it makes (agent process, server, namespaces, veths, bridge, BPF pins, temp dir) is removed on exit,
# also on failure or Ctrl-C. Traffic flows only between its own namespaces and the bridge (10.198.<s>.0/24).
set -Eeuo pipefail
export LC_ALL=C

DURATION=10
REPS=3
CONNS="1 16 64"
SERVER_THREADS=2
DO_LOOPBACK=1
FLOW_LOG=on
TMP_BASE=/tmp
WARMUP=8

BENCH_TAG=bench
# shellcheck source=lib/bench-common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/bench-common.sh" # ROOT, DIST
usage() { sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; }
bench_options usage --duration=DURATION --reps=REPS --conns=CONNS --server-threads=SERVER_THREADS \
  --skip-loopback:DO_LOOPBACK=0 --no-flow-log:FLOW_LOG=off --tmpdir=TMP_BASE --warmup=WARMUP -- "$@"
SERVER_SRC="$ROOT/scripts/bench/HttpServer.java"
bench_positive DURATION REPS SERVER_THREADS WARMUP
[ "$SERVER_THREADS" -le 64 ] || { echo "bench: --server-threads must be 1..64" >&2; exit 2; }
[ -n "${CONNS// /}" ] || { echo "bench: --conns needs at least one count" >&2; exit 2; }
for n in $CONNS; do
  [[ $n =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le 1000 ] || { echo "bench: --conns takes counts 1..1000 (the proxy's maxConnections is 1024)" >&2; exit 2; }
done

START_S=$SECONDS
LOAD_START=$(loadavg)
CLK_TCK=$(getconf CLK_TCK)

bench_require "network namespaces, tc, BPF" ip tc ss wrk curl java timeout getconf
[ -f "$SERVER_SRC" ] || die "missing $SERVER_SRC"

# ---------------------------------------------------------------------------------------------------------------
# Names and cleanup. The subnet is random and must not be routed already (NetLab labs and tests pick theirs at
# random in 10.199/16 and 10.197/16; some tests use 10.198.0-9.x): a second route for it would steal our traffic.
SUB=
unused() { # RID: no namespace, bridge or pins of that name; and SUB, a random subnet nothing routes yet
  SUB=$((100 + RANDOM % 150))
  bench_names_free "sl7-$1-" "sl7b$1" "/sys/fs/bpf/septum-bench-l7-$1" && ! ip -4 route show | grep -q "^10\.198\.$SUB\."
}
bench_run_dir septum-bench-l7 unused # RID, TMP
BPF_DIR="/sys/fs/bpf/septum-bench-l7-$RID"
BR="sl7b$RID"
SOCK="$TMP/run/septum.sock"
C="sl7-$RID-c" S="sl7-$RID-s" CV="sl7${RID}c" SV="sl7${RID}s"
HOST_IP="10.198.$SUB.254" CIP="10.198.$SUB.1" SIP="10.198.$SUB.2"
NETNS_MADE=()
LINKS_MADE=()
REGISTERED=()
AGENT_PID=
SERVER_PID=
FAILED=1

cleanup() {
  bench_stop_agent
  bench_agent_log_tail 25
  [ -z "$SERVER_PID" ] || kill "$SERVER_PID" 2>/dev/null
  # with what still runs in the namespaces (the server, a wrk cut short)
  bench_remove_topology "sl7-$RID-" '/sys/fs/bpf/septum-bench-l7-????' 'septum-bench-l7.??????'
}
bench_traps err

# ---------------------------------------------------------------------------------------------------------------
# Topology: a bridge with the host's address, and two namespaces whose eth0 is a veth peer on it (as NetLab)
make_topology() {
  bench_bridge "$HOST_IP/24"
  NETNS_MADE+=("$C" "$S")
  LINKS_MADE+=("$CV" "$SV")
  bench_add_node "$C" "$CV" "$CIP"
  bench_add_node "$S" "$SV" "$SIP"
}

http_probe() { # PATH: "CODE BODY" of a GET from the client namespace (one line)
  ip netns exec "$C" curl -s --max-time 3 -w ' %{http_code}' "http://$SIP$1" 2>/dev/null | tr -d '\r\n' || true
}

wait_http() { # PATH EXPECTED_CODE TIMEOUT_S: polls until GET PATH from the client answers EXPECTED_CODE
  local t0=$SECONDS out
  while :; do
    out=$(http_probe "$1")
    [ "${out##* }" = "$2" ] && { LAST_PROBE=$out; return 0; }
    [ $((SECONDS - t0)) -lt "$3" ] || die "GET $1 from the client: expected HTTP $2 after $3 s, got '${out}'"
    sleep 0.2
  done
}

cpu_ticks() { # PID [sys]: utime+stime of the process and its threads (fields 14 and 15 of /proc/PID/stat); stime alone with "sys"
  # the comm field may hold spaces: cut after its closing parenthesis
  local s
  s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
  s=${s##*) }
  if [ "${2:-}" = sys ]; then awk '{print $13}' <<<"$s"; else awk '{print $12 + $13}' <<<"$s"; fi
}

# ---------------------------------------------------------------------------------------------------------------
# Policies: the seed's rule1 form (ingress from the client's label to TCP 80), with and without rules.http
write_policies() {
  rule() { # DESCRIPTION: the policy up to its port (the L7 form adds its rules after it)
    cat <<EOF
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: bench-l7-rule
  namespace: default
spec:
  description: "$1"
  endpointSelector:
    matchLabels:
      app: l7-server
  ingress:
  - fromEndpoints:
    - matchLabels:
        app: l7-client
    toPorts:
    - ports:
      - port: "80"
        protocol: TCP
EOF
  }
  rule "L3/L4 policy: the client may reach the server on TCP 80" >"$TMP/l3l4.yaml"
  {
    rule "L7 policy to restrict access to specific HTTP call"
    cat <<'EOF'
      rules:
        http:
        - method: "GET"
          path: "/"
EOF
  } >"$TMP/l7.yaml"
}

CURRENT=
configure() { # none|l3l4|l7|loopback: the policy of that configuration, realised and checked from the client
  local want=$1 rev
  # the loopback runs do not cross the datapath: whatever policy is in place stays
  if [ "$want" = loopback ]; then return 0; fi
  [ "$want" = "$CURRENT" ] && return 0
  case $want in
    none)
      if [ -n "$CURRENT" ]; then
        rev=$(delete_policy bench-l7-rule)
        wait_revision l7- "$rev" 60
      fi
      # no proxy: the server answers 200 to every path
      wait_http /other 200 20
      ;;
    l3l4)
      rev=$(import_policy "$TMP/l3l4.yaml")
      wait_revision l7- "$rev" 60
      wait_http /other 200 20
      if [ -z "${DROP_CHECKED:-}" ]; then
        port_dropped "$C" "$SIP" 81 || die "Septum does not drop client->server TCP 81 (not in the L3/L4 policy)"
        DROP_CHECKED=1
        log "l3l4: client->server TCP 81 (not in the policy) is dropped: enforcing"
      fi
      ;;
    l7)
      rev=$(import_policy "$TMP/l7.yaml")
      wait_revision l7- "$rev" 60
      # the proxy answers what the rule does not admit; the server itself answers 200 to everything
      wait_http /other 403 20
      [[ $LAST_PROBE == "Access denied 403" ]] || die "GET /other through the proxy: '$LAST_PROBE', expected 'Access denied 403'"
      wait_http / 200 20
      ;;
  esac
  CURRENT=$want
}

# ---------------------------------------------------------------------------------------------------------------
# Figures
median() { tr ' ' '\n' | grep -v '^$' | grep -v NA | sort -g | awk '{a[NR]=$1} END {if (NR==0) print "NA"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

to_ms() { # wrk's "629.00us" / "3.46ms" / "1.20s" / "2.00m" -> ms
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
    else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.3f", v * 60000 }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
    else print "NA" }'
}

declare -A RPS P50 P99 AG_CPU AG_US AG_SYS SV_CPU ERRS LOADS

run_wrk() { # CONFIG CONNS: one measured run; appends to the figures of CONFIG|CONNS
  local cfg=$1 c=$2 key="$1|$2" t=2 ns=$C url="http://$SIP/" out a0 a1 k0 k1 s0 s1 w0 w1 rps p50 p99 nreq bad
  [ "$c" -ge 2 ] || t=1
  if [ "$cfg" = loopback ]; then ns=$S; url="http://127.0.0.1/"; fi
  LOADS[$key]+="$(cut -d' ' -f1 /proc/loadavg) "
  a0=$(cpu_ticks "$AGENT_PID"); k0=$(cpu_ticks "$AGENT_PID" sys); s0=$(cpu_ticks "$SERVER_PID"); w0=$(date +%s%N)
  if ! out=$(timeout $((DURATION + 30)) ip netns exec "$ns" wrk -t "$t" -c "$c" -d "${DURATION}s" --timeout 5s --latency "$url" 2>&1); then
    log "wrk failed ($cfg, $c connections): $(tail -n 2 <<<"$out" | tr '\n' ' ')"
    out=
  fi
  w1=$(date +%s%N); a1=$(cpu_ticks "$AGENT_PID"); k1=$(cpu_ticks "$AGENT_PID" sys); s1=$(cpu_ticks "$SERVER_PID")
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  nreq=$(awk '$2 == "requests" && $3 == "in" {print $1}' <<<"$out")
  # non-2xx answers, socket errors and timeouts: a run with any is reported, and its figures are not trusted
  bad=$(awk '/Non-2xx or 3xx responses:/ {n += $NF}
             /Socket errors:/ {gsub(/,/, ""); n += $4 + $6 + $8 + $10}
             END {print n + 0}' <<<"$out")
  [ -n "$rps" ] || { rps=NA; bad=$((bad + 1)); }
  RPS[$key]+="${rps} "
  P50[$key]+="$( [ -n "$p50" ] && to_ms "$p50" || echo NA) "
  P99[$key]+="$( [ -n "$p99" ] && to_ms "$p99" || echo NA) "
  # CPU as % of one core over the wall time of the run
  AG_CPU[$key]+="$(awk -v d=$((a1 - a0)) -v w=$((w1 - w0)) -v hz="$CLK_TCK" 'BEGIN {printf "%.0f", 100 * d / hz / (w / 1e9)}') "
  # the agent's CPU per request, in microseconds: what one proxied request costs it
  AG_US[$key]+="$(awk -v d=$((a1 - a0)) -v n="${nreq:-0}" -v hz="$CLK_TCK" 'BEGIN {if (n > 0) printf "%.0f", 1e6 * d / hz / n; else print "NA"}') "
  # of which in the kernel (sockets, TCP, the veths and the redirect): what no change to the proxy's Java can save
  AG_SYS[$key]+="$(awk -v d=$((k1 - k0)) -v n="${nreq:-0}" -v hz="$CLK_TCK" 'BEGIN {if (n > 0) printf "%.0f", 1e6 * d / hz / n; else print "NA"}') "
  SV_CPU[$key]+="$(awk -v d=$((s1 - s0)) -v w=$((w1 - w0)) -v hz="$CLK_TCK" 'BEGIN {printf "%.0f", 100 * d / hz / (w / 1e9)}') "
  ERRS[$key]=$(( ${ERRS[$key]:-0} + bad ))
  [ "$bad" = 0 ] || log "$cfg $c: $bad non-2xx answers or socket errors: $(grep -E 'Non-2xx|Socket errors' <<<"$out" | tr '\n' ' ')"
  log "$cfg $c conns: ${rps} req/s, p50 ${p50:-NA}, p99 ${p99:-NA}"
}

# ===============================================================================================================
make_topology
bench_copy_dist
[ "$FLOW_LOG" = on ] || printf 'logEnabled=false\n' >"$TMP/septum/etc/io.septum.observer.cfg"
bench_start_agent
write_policies

log "starting the HTTP server in $S ($SERVER_THREADS threads, java source launcher)"
ip netns exec "$S" java -XX:+UseParallelGC -Xms256m -Xmx256m "$SERVER_SRC" 0.0.0.0 80 "$SERVER_THREADS" \
  >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
wait_listening "$S" 80 60

register l7-server "$SV" "$S" "$SIP"
register l7-client "$CV" "$C" "$CIP"
wait_ready l7- 2 60
bench_wait_proxy_ok

CONFIGS=(none l3l4 l7)
[ "$DO_LOOPBACK" = 0 ] || CONFIGS+=(loopback)
CONN_LIST=($CONNS)

# Warm-up, not counted: the JIT compiles the server's loop and the proxy's Netty pipeline. Two rounds through the
# configurations, switches included: after one round the JIT still deoptimized and recompiled the proxy's code for
# seconds of the first measured l7 run (docs/benchmarks.md, "The JIT, still compiling").
for round in 1 2; do
  for cfg in "${CONFIGS[@]}"; do
    configure "$cfg"
    ns=$C; url="http://$SIP/"
    [ "$cfg" != loopback ] || { ns=$S; url="http://127.0.0.1/"; }
    log "warm-up $round/2: $cfg, ${WARMUP} s"
    timeout $((WARMUP + 30)) ip netns exec "$ns" wrk -t 2 -c 16 -d "${WARMUP}s" "$url" >/dev/null 2>&1 || log "warm-up $round/2 $cfg: wrk failed"
  done
done

nc=${#CONFIGS[@]}
for ((rep = 1; rep <= REPS; rep++)); do
  for ((ci = 0; ci < ${#CONN_LIST[@]}; ci++)); do
    c=${CONN_LIST[$ci]}
    # each (repetition, connection count) starts one configuration later, so that a burst of load elsewhere does
    # not always hit the same one
    for ((j = 0; j < nc; j++)); do
      cfg=${CONFIGS[$(((j + rep - 1 + ci) % nc))]}
      configure "$cfg"
      run_wrk "$cfg" "$c"
    done
  done
  log "repetition $rep/$REPS done"
done
configure none

# L7 events the proxy produced (one request and one response flow per request) are not counted here: the
# observer's queue drops under this load by design (see the flow benchmark), so its totals would not be exact.

# ---------------------------------------------------------------------------------------------------------------
bench_report_head "L7 proxy" "$START_S" "$LOAD_START"
echo "tools: $( (wrk --version 2>&1 || true) | head -1 | cut -d' ' -f1-3); $(java -version 2>&1 | head -1)"
echo "flow log: $FLOW_LOG (observer pid io.septum.observer, logEnabled)"
echo "server: scripts/bench/HttpServer.java, $SERVER_THREADS threads, 200 OK with a 3-byte body, keep-alive"
echo
echo "wrk GET / (HTTP/1.1 keep-alive), client netns -> server netns over a Linux bridge, ${DURATION} s per run,"
echo "median of $REPS interleaved repetitions (warm-up: two rounds of ${WARMUP} s per configuration before, not counted);"
echo "wrk threads: 1 for 1 connection, else 2. CPU: % of one core over the run (utime+stime from /proc)."
echo "  none      endpoints registered, no policy (the baseline)"
echo "  l3l4      CNP: the client may reach the server on TCP 80 (datapath only)"
echo "  l7        the same with rules.http GET \"/\": through the agent's transparent proxy"
[ "$DO_LOOPBACK" = 0 ] || echo "  loopback  wrk in the server netns to 127.0.0.1: the server alone, no datapath"
echo
printf '%-6s %-9s %9s %7s %9s %9s %7s %7s %8s %6s %7s %5s %6s  %s\n' conns config "req/s" "x base" "p50 ms" "p99 ms" "x p99" "agent%" "agent us" "sys us" "server%" errs load "runs (req/s)"
for c in "${CONN_LIST[@]}"; do
  base=$(median <<<"${RPS["none|$c"]}")
  basep99=$(median <<<"${P99["none|$c"]}")
  for cfg in "${CONFIGS[@]}"; do
    k="$cfg|$c"
    r=$(median <<<"${RPS[$k]}")
    p50=$(median <<<"${P50[$k]}")
    p99=$(median <<<"${P99[$k]}")
    ratio=$(awk -v a="$r" -v b="$base" 'BEGIN {if (a == "NA" || b == "NA" || b == 0) print "NA"; else printf "%.2f", a / b}')
    rp99=$(awk -v a="$p99" -v b="$basep99" 'BEGIN {if (a == "NA" || b == "NA" || b == 0) print "NA"; else printf "%.1f", a / b}')
    loads=$(tr ' ' '\n' <<<"${LOADS[$k]}" | grep -v '^$' | sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%.0f-%.0f", lo, hi}')
    printf '%-6s %-9s %9.0f %7s %9s %9s %7s %7s %8s %6s %7s %5s %6s  [%s]\n' "$c" "$cfg" "$( [ "$r" = NA ] && echo 0 || echo "$r")" \
      "$ratio" "$p50" "$p99" "$rp99" "$(median <<<"${AG_CPU[$k]}")" "$(median <<<"${AG_US[$k]}")" "$(median <<<"${AG_SYS[$k]}")" \
      "$(median <<<"${SV_CPU[$k]}")" "${ERRS[$k]:-0}" \
      "$loads" "$(echo ${RPS[$k]})"
  done
done
for c in 16 64; do
  [ -n "${RPS["none|$c"]:-}" ] && [ -n "${RPS["l7|$c"]:-}" ] || continue
  # a row with errors is not a figure: quick 403s or 5xx would pass for requests served
  if [ "${ERRS["l7|$c"]:-0}" != 0 ] || [ "${ERRS["none|$c"]:-0}" != 0 ]; then
    bench_figure "l7_rps_ratio_$c" NA
    [ "$c" != 16 ] || { bench_figure l7_agent_us_per_request NA; bench_figure l7_p99_added_ms NA; }
    continue
  fi
  bench_figure "l7_rps_ratio_$c" "$(awk -v a="$(median <<<"${RPS["l7|$c"]}")" -v b="$(median <<<"${RPS["none|$c"]}")" \
    'BEGIN {if (a == "NA" || b == "NA" || b == 0) print "NA"; else printf "%.3f", a / b}')"
  if [ "$c" = 16 ]; then
    bench_figure l7_agent_us_per_request "$(median <<<"${AG_US["l7|16"]}")"
    bench_figure l7_p99_added_ms "$(awk -v a="$(median <<<"${P99["l7|16"]}")" -v b="$(median <<<"${P99["none|16"]}")" \
      'BEGIN {if (a == "NA" || b == "NA") print "NA"; else printf "%.2f", a - b}')"
  fi
done
echo "x base: requests/s relative to 'none' at the same connection count; x p99: p99 relative to 'none'."
echo "agent us: the agent's CPU time per request in microseconds (utime+stime / requests wrk completed);"
echo "sys us: the part of it spent in the kernel (stime: sockets, TCP, the veths, the redirect)."
echo "errs: non-2xx answers, socket errors and timeouts over all runs of the row (a run without figures counts 1)."
echo "load: the 1-minute load average before the row's runs (lowest-highest)."
echo
st=$(api GET /v1/status) || st=
proxy_msg=$(grep -o '"name":"proxy","state":"[a-z]*","message":"[^"]*"' <<<"$st" | sed 's/.*"message":"//; s/"$//') || true
flows_msg=$(grep -o '"seenFlows":[0-9]*,"lostEvents":[0-9]*,"queueDropped":[0-9]*' <<<"$st" | tr -d '"' | sed 's/,/, /g; s/:/ /g') || true
echo "proxy: ${proxy_msg:-?} (warm-up and checks included)"
echo "flows: ${flows_msg:-?} (each proxied request is two L7 flows; queueDropped: the observer's queue was full)"
kill "$SERVER_PID" 2>/dev/null || true
for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
echo "server: $(grep '^served' "$TMP/server.log" 2>/dev/null || echo 'no count (it did not exit in 5 s)') (warm-up, checks and proxy included)"
bench_report_agent_log
FAILED=0
