# shellcheck shell=bash
# What the benchmark scripts (scripts/bench-*.sh) share: their options, messages, the checks before a run, the agent's start and
# stop, its REST API, endpoints and policies through it, the namespaces on a bridge, and the report's common lines.
# Sourced, never run: it sets ROOT (the checkout) and DIST (the built distribution, or $SEPTUM_DIST). A script sets
# BENCH_TAG (the prefix of its messages) and TMP_BASE (--tmpdir) before it calls these, and defines cleanup (what
# bench_traps runs on exit); the ones that use the agent set SOCK and BPF_DIR, and keep AGENT_PID and REGISTERED (the
# endpoints it registered). Every wait has a deadline.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DIST="${SEPTUM_DIST:-$ROOT/distribution/target/septum}"

# ---- options -------------------------------------------------------------------------------------------------------
# A script's options as a table, one row each: --NAME=VAR takes a value (VAR is set to the next argument), --NAME:VAR=V
# is a flag (VAR is set to V). -h and --help print the script's usage and exit 0; anything else is a usage error (exit
# 2), said as ERRORS asks: "usage" says "unknown argument ARG" and prints the usage (on stderr), "see-help" says
# "unknown option ARG (see --help)". A script defines usage() and sets BENCH_TAG before it calls this.
bench_options() { # ERRORS ROW... -- ARG...
  local errors=$1 row
  local -A takes=() flags=()
  shift
  while [ "$1" != -- ]; do
    row=$1
    case $row in
      *:*) flags[${row%%:*}]=${row#*:} ;;
      *) takes[${row%%=*}]=${row#*=} ;;
    esac
    shift
  done
  shift
  while [ $# -gt 0 ]; do
    if [ -n "$1" ] && [ -n "${takes[$1]:-}" ]; then
      [ $# -ge 2 ] || { echo "$BENCH_TAG: $1 needs a value" >&2; exit 2; }
      printf -v "${takes[$1]}" '%s' "$2"
      shift 2
    elif [ -n "$1" ] && [ -n "${flags[$1]:-}" ]; then
      printf -v "${flags[$1]%%=*}" '%s' "${flags[$1]#*=}"
      shift
    elif [ "$1" = -h ] || [ "$1" = --help ]; then
      usage
      exit 0
    elif [ "$errors" = usage ]; then
      echo "$BENCH_TAG: unknown argument $1" >&2
      usage >&2
      exit 2
    else
      echo "$BENCH_TAG: unknown option $1 (see --help)" >&2
      exit 2
    fi
  done
}

# ---- messages and checks ---------------------------------------------------------------------------------------
log() { printf '%s %s: %s\n' "$(date -u +%H:%M:%S)" "$BENCH_TAG" "$*" >&2; }
die() { printf '%s: %s\n' "$BENCH_TAG" "$*" >&2; exit 1; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

bench_rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; } # PID: its resident set in KiB

# PID: the JVM's heap in use after a full GC in MiB, "?" without the JDK's jcmd. The sum over GC.heap_info's lines
# with a total (G1's one heap line; the serial collector's young and tenured generations), not Metaspace.
bench_heap_after_gc() {
  command -v jcmd >/dev/null || { echo "?"; return; }
  timeout 60 jcmd "$1" GC.run >/dev/null 2>&1 || true
  { timeout 60 jcmd "$1" GC.heap_info 2>/dev/null || true; } | awk '/ total / {for (i = 1; i < NF; i++) if ($i == "used") {v = $(i + 1); sub(/K,?/, "", v); kib += v}}
    END {if (kib == "") print "?"; else printf "%.0f\n", kib / 1024}'
}

# scripts/bench.sh sets BENCH_FIGURES to a file: each script adds its figures there as "key value" lines (the keys of
# bench.sh's --json), NA for one it could not measure. Unset, this does nothing.
bench_figure() { # KEY VALUE
  [ -z "${BENCH_FIGURES:-}" ] || printf '%s %s\n' "$1" "${2:-NA}" >>"$BENCH_FIGURES"
}

bench_require() { # WHY TOOL...: root (WHY says what for), the tools, and the built distribution at $DIST
  [ "$(id -u)" = 0 ] || die "run as root ($1)"
  shift
  local t
  for t in "$@"; do
    command -v "$t" >/dev/null || die "$t is missing: run scripts/install-deps.sh"
  done
  bench_require_dist
}

bench_require_dist() { # the built distribution at $DIST
  [ -x "$DIST/bin/septum" ] || die "no built distribution at $DIST (run scripts/build.sh, or set SEPTUM_DIST)"
}

# Option checks: a wrong value is a usage error (exit 2), as an unknown option is.
bench_positive() { # VAR...: each a positive integer, else the error names its option (--var)
  local v
  for v in "$@"; do
    [[ ${!v} =~ ^[0-9]+$ ]] && [ "${!v}" -ge 1 ] || { echo "$BENCH_TAG: --${v,,} must be a positive integer" >&2; exit 2; }
  done
}

bench_range() { # OPTION VALUE MIN MAX: VALUE a whole number from MIN to MAX
  [[ $2 =~ ^[0-9]+$ && $2 -ge $3 && $2 -le $4 ]] || { echo "$BENCH_TAG: $1 takes $3..$4" >&2; exit 2; }
}

# The script's cleanup runs on every exit; INT and TERM exit with the shell's usual status, so that it still runs
bench_traps() { # [err]: with err, a failing command also names its line
  trap bench_exit EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  [ "${1:-}" != err ] || trap 'echo "$BENCH_TAG: failed at line $LINENO: $BASH_COMMAND" >&2' ERR
}

bench_exit() { # the EXIT trap: the script's cleanup (without -e, -u and the traps), then exit with the script's status
  local rc=$?
  set +eu
  trap - EXIT INT TERM ERR
  log "cleaning up (run $RID)"
  cleanup
  exit "$rc"
}

bench_names_free() { # NETNS_PREFIX BRIDGE PIN_DIR: no namespace NETNS_PREFIX*, no link BRIDGE and no PIN_DIR (a FREE test
                     # for bench_run_dir)
  ! ip netns list 2>/dev/null | grep -q "^$1" && ! ip link show "$2" >/dev/null 2>&1 && [ ! -e "$3" ]
}

bench_run_dir() { # NAME [FREE]: RID, four random hex digits (with FREE, one for which `FREE RID` succeeds, in 20
                  # tries), and TMP, a new directory NAME.XXXXXX under $TMP_BASE (--tmpdir)
  local r
  RID=
  for _ in $(seq 1 20); do
    r=$(printf '%04x' $((RANDOM % 65536)))
    if [ -z "${2:-}" ] || "$2" "$r"; then RID=$r; break; fi
  done
  [ -n "$RID" ] || die "no free run id after 20 attempts"
  [ -d "$TMP_BASE" ] || die "--tmpdir $TMP_BASE is not a directory"
  TMP="$(mktemp -d "$TMP_BASE/$1.XXXXXX")"
}

# ---- processes ---------------------------------------------------------------------------------------------------
stop_pid() { # PID SECONDS [NAME]: TERM, then KILL after SECONDS (said in the log when NAME is given)
  local p=$1 i
  [ -n "$p" ] && kill -0 "$p" 2>/dev/null || return 0
  kill -TERM "$p" 2>/dev/null
  for ((i = 0; i < $2 * 5; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
  if kill -0 "$p" 2>/dev/null; then
    [ -z "${3:-}" ] || log "$3 $p did not stop within $2 s of SIGTERM: SIGKILL"
    kill -KILL "$p" 2>/dev/null
  fi
  wait "$p" 2>/dev/null || true
}

# ---- the agent and its API -----------------------------------------------------------------------------------------
api() { # METHOD PATH [curl args...]: prints the body; fails (with the agent's error) unless 2xx
  local method=$1 path=$2 out code
  shift 2
  out=$(curl -sS --max-time "${API_TIMEOUT:-60}" --unix-socket "$SOCK" -X "$method" -w '\n%{http_code}' "$@" \
        "http://septum$path") || { echo "$BENCH_TAG: $method $path: curl failed" >&2; return 1; }
  code=${out##*$'\n'}
  out=${out%$'\n'*}
  case $code in
    2??) printf '%s' "$out" ;;
    *) echo "$BENCH_TAG: $method $path: HTTP $code: $out" >&2; return 1 ;;
  esac
}

# A private copy, so that a rebuild of distribution/target during the run cannot swap jars under the agent.
bench_copy_dist() { cp -a "$DIST" "$TMP/septum"; }

bench_launch_agent() { # the private copy's agent, started and not waited for: AGENT_PID
  mkdir -p "$TMP/state" "$TMP/run"
  log "starting the agent (state $TMP/state, run $TMP/run, bpf $BPF_DIR)"
  # appended: a restarted agent (bench-flows) keeps the first one's log; created first, so that the start-up check
  # of bench_start_agent never greps a file the background start has not opened yet
  : >>"$TMP/agent.log"
  SEPTUM_LOCK_DIR="$TMP/locks" "$TMP/septum/bin/septum" agent --state-dir "$TMP/state" --run-dir "$TMP/run" --bpf-dir "$BPF_DIR" \
    >>"$TMP/agent.log" 2>&1 &
  AGENT_PID=$!
}

bench_start_agent() { # the private copy's agent, until GET /v1/status says ready: AGENT_PID, AGENT_VERSION, AGENT_READY_MS
  bench_launch_agent
  local t0=$SECONDS st
  while :; do
    kill -0 "$AGENT_PID" 2>/dev/null || die "the agent exited during start-up"
    if grep -q 'Unable to resolve' "$TMP/agent.log"; then
      die "bundles of $DIST do not resolve (is the distribution being rebuilt right now? run again when the build is done)"
    fi
    if [ -S "$SOCK" ]; then
      st=$(API_TIMEOUT=3 api GET /v1/status 2>/dev/null) || st=
      [[ $st == *'"ready":true'* ]] && break
    fi
    [ $((SECONDS - t0)) -lt 120 ] || die "the agent was not ready after 120 s"
    sleep 0.3
  done
  AGENT_VERSION=$(grep -o '"version":"[^"]*"' <<<"$st" | cut -d'"' -f4) || true
  AGENT_READY_MS=$(grep -o '"startToReadyMillis":[0-9-]*' <<<"$st" | cut -d: -f2) || true
  log "agent $AGENT_VERSION ready (pid $AGENT_PID, start to ready ${AGENT_READY_MS} ms)"
}

bench_stop_agent() { # deletes the endpoints in REGISTERED first, so that the agent detaches their programs; then stops it
  [ -n "$AGENT_PID" ] && kill -0 "$AGENT_PID" 2>/dev/null || return 0
  local name
  for name in "${REGISTERED[@]}"; do
    curl -s -o /dev/null --max-time 5 --unix-socket "$SOCK" -X DELETE "http://septum/v1/endpoints/default%2F$name"
  done
  stop_pid "$AGENT_PID" 20 agent
}

bench_agent_log_tail() { # LINES: the end of the agent's log, when the run failed
  if [ "$FAILED" = 1 ] && [ -f "$TMP/agent.log" ]; then
    echo "$BENCH_TAG: last lines of the agent's log:" >&2
    tail -n "$1" "$TMP/agent.log" >&2
  fi
}

endpoints_json() { api GET /v1/endpoints | sed 's/},{"id"/}\n{"id"/g'; }

register() { # NAME VETH NETNS IP: a netns endpoint labelled app=NAME in namespace default
  REGISTERED+=("$1")
  api POST /v1/endpoints -H 'Content-Type: application/json' \
    -d "{\"source\":\"netns\",\"spec\":{\"sourceId\":\"default/$1\",\"name\":\"$1\",\"namespace\":\"default\",\"labels\":{\"app\":\"$1\"},\"interfaceName\":\"$2\",\"netns\":\"$3\",\"addresses\":[\"$4\"]}}" \
    >/dev/null
}

wait_ready() { # PREFIX COUNT TIMEOUT_S: until COUNT endpoints whose name starts with PREFIX are ready
  local t0=$SECONDS n
  while :; do
    n=$(endpoints_json | grep "\"name\":\"$1" | grep -c '"state":"ready"') || true
    [ "$n" -ge "$2" ] && return 0
    [ $((SECONDS - t0)) -lt "$3" ] || die "only $n of $2 endpoints '$1*' ready after $3 s: $(endpoints_json | grep -v '"state":"ready"' | head -3)"
    sleep 0.2
  done
}

min_revision() { # PREFIX: the lowest policyRevision among endpoints named PREFIX*
  endpoints_json | grep "\"name\":\"$1" | grep -o '"policyRevision":[0-9]*' | cut -d: -f2 | sort -n | awk 'NR == 1'
}

wait_revision() { # PREFIX REVISION TIMEOUT_S
  local t0=$SECONDS r
  while :; do
    r=$(min_revision "$1") || true
    [ -n "$r" ] && [ "$r" -ge "$2" ] && return 0
    [ $((SECONDS - t0)) -lt "$3" ] || die "endpoints '$1*' not at policy revision $2 after $3 s (lowest: ${r:-none})"
    sleep 0.05
  done
}

import_policy() { # FILE: prints the new revision
  local out
  out=$(api POST /v1/policies -H "X-Septum-Origin: $(basename "$1")" -H 'Content-Type: application/yaml' \
        --data-binary "@$1") || return 1
  grep -o '"revision":[0-9]*' <<<"$out" | cut -d: -f2
}

delete_policy() { # NAME: prints the new revision
  api DELETE "/v1/policies/default/$1" | grep -o '"revision":[0-9]*' | cut -d: -f2
}

# ---- namespaces on a bridge ($BR) ----------------------------------------------------------------------------------
bench_netns_up() { # NETNS IP: lo and eth0 up, IP/32 on eth0, the endpoint range 10.192.0.0/10 through eth0
  ip -n "$1" -batch - <<EOF
link set lo up
addr add $2/32 dev eth0
link set eth0 up
route add 10.192.0.0/10 dev eth0
EOF
}

bench_bridge() { # [HOST_CIDR]: the bridge $BR, up, without IPv6; with HOST_CIDR, the host's address on it (the L7
                 # proxy's upstream leg leaves from the host)
  ip link add "$BR" type bridge
  LINKS_MADE+=("$BR")
  echo 1 >"/proc/sys/net/ipv6/conf/$BR/disable_ipv6" 2>/dev/null || true
  [ -z "${1:-}" ] || ip addr add "$1" dev "$BR"
  ip link set "$BR" up
}

bench_add_node() { # NETNS VETH IP: a namespace whose eth0 is the peer of VETH, on the bridge $BR (as NetLab builds them)
  ip netns add "$1"
  ip link add "$2" type veth peer name eth0 netns "$1"
  # no IPv6 on the host end: neighbour discovery chatter is not what we measure
  echo 1 >"/proc/sys/net/ipv6/conf/$2/disable_ipv6" 2>/dev/null || true
  ip link set "$2" master "$BR" up
  bench_netns_up "$1" "$3"
}

bench_remove_netns() { # NETNS...: stops what still runs in them (this script started it), then deletes them
  local ns p
  for ns in "$@"; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill "$p" 2>/dev/null; done
  done
  for ns in "$@"; do ip netns del "$ns" 2>/dev/null; done
}

bench_remove_topology() { # NETNS_PREFIX BPF_GLOB TMP_GLOB [LEFT]: NETNS_MADE, LINKS_MADE, $BR, $BPF_DIR, $TMP
  # the globs keep rm -rf to what this script made; a warning names what is still there (LEFT: the caller's own)
  local l left=""
  bench_remove_netns "${NETNS_MADE[@]}"
  for l in "${LINKS_MADE[@]}"; do ip link del "$l" 2>/dev/null; done
  ip link del "$BR" 2>/dev/null
  # shellcheck disable=SC2254 # the globs are patterns
  case $BPF_DIR in $2) rm -rf "$BPF_DIR" ;; esac
  # shellcheck disable=SC2254
  case ${TMP##*/} in $3) rm -rf "$TMP" ;; esac
  ip netns list 2>/dev/null | grep -q "^$1" && left+=" namespaces"
  ip link show "$BR" >/dev/null 2>&1 && left+=" bridge $BR"
  [ -e "$BPF_DIR" ] && left+=" $BPF_DIR"
  left+=${4:-}
  [ -n "$left" ] && log "WARNING: could not remove:$left"
}

wait_listening() { # NETNS PORT TIMEOUT_S
  local t0=$SECONDS
  until ss -N "$1" -Hltn "sport = :$2" 2>/dev/null | grep -q .; do
    [ $((SECONDS - t0)) -lt "$3" ] || die "nothing listens on TCP $2 in $1 after $3 s"
    sleep 0.1
  done
}

bench_tcp_sinks() { # NETNS IP PORT...: in NETNS a TCP listener on each IP:PORT that takes connections and discards
                    # what they send (socat, a process per connection); returns once all listen (10 s each)
  local ns=$1 ip=$2 p
  shift 2
  for p in "$@"; do
    ip netns exec "$ns" socat -u "TCP-LISTEN:$p,bind=$ip,fork,reuseaddr" OPEN:/dev/null >/dev/null 2>&1 &
  done
  for p in "$@"; do wait_listening "$ns" "$p" 10; done
}

# Drop check without a listener: a dropped SYN times out (124), an admitted one is refused at once.
port_dropped() { # NETNS IP PORT
  local rc=0
  ip netns exec "$1" timeout 1 bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null || rc=$?
  [ "$rc" = 124 ]
}

bench_wait_proxy_ok() { # the L7 proxy starts on its own after ready; L7 figures mean nothing unless it runs
  local t0=$SECONDS st
  while :; do
    st=$(api GET /v1/status) || st=
    grep -Eq '"name":"proxy"[^}]*"state":"ok"|"state":"ok"[^}]*"name":"proxy"' <<<"$st" && return 0
    [ $((SECONDS - t0)) -lt 60 ] || die "the proxy component is not ok after 60 s: $(grep -o '"name":"proxy"[^}]*' <<<"$st")"
    sleep 0.3
  done
}

# ---- the report ----------------------------------------------------------------------------------------------------
bench_report_head() { # TITLE START_S LOAD_START: the title line, the host and the agent
  echo
  echo "Septum $1 benchmark — $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "host: $(nproc) CPU(s), kernel $(uname -r), load average at the start: $3, at the end: $(loadavg); took $((SECONDS - $2)) s"
  echo "agent: $AGENT_VERSION from $DIST (private copy; git $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo ?)), start to ready ${AGENT_READY_MS} ms"
}

bench_report_agent_log() { # how many WARN/ERROR lines the agent logged, and the first five
  local re='^(WARN|ERROR)|[[:space:]](WARN|WARNING|ERROR|SEVERE)[[:space:]]' warns
  warns=$(grep -cE "$re" "$TMP/agent.log" || true)
  echo "agent log: $warns WARN/ERROR line(s)"
  grep -E "$re" "$TMP/agent.log" | head -5 | cut -c1-300 | sed 's/^/  /' || true
}
