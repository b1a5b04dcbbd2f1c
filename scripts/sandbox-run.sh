#!/usr/bin/env bash
# Runs a command under the sandbox that a systemd unit describes, without systemd as PID 1 (containers, CI, this
# project's test machines): the way to check that the agent still starts and enforces under septum.service's
# hardening. Root only.
#
#   sudo scripts/sandbox-run.sh [--unit FILE] [--state DIR] [--run DIR] [--rw DIR]... -- COMMAND [ARG...]
#
# --unit   the unit (default: distribution/src/main/dist/systemd/septum.service)
# --state  the directory that stands for StateDirectory= (/var/lib/NAME), kept writable
# --run    the directory that stands for RuntimeDirectory= (/run/NAME), kept writable
# --rw     one more writable directory (the agent's pin directory lives under /sys/fs/bpf, already writable)
#
# Every [Service] directive of the unit is either emulated here or known to have nothing to emulate; any other
# directive stops the script, so that the unit cannot grow a setting this check silently skips. Emulated:
#   filesystem  ProtectSystem=strict (every mount read-only but /proc, /sys, /dev and the writable paths),
#               ReadWritePaths=, ProtectHome=yes, PrivateTmp=yes, PrivateDevices=yes, ProtectKernelTunables=yes,
#               ProtectKernelModules=yes, ProtectKernelLogs=yes, ProtectControlGroups=yes: in a mount namespace
#   process     CapabilityBoundingSet=, NoNewPrivileges=yes (setpriv), UMask=, LimitMEMLOCK=, LimitNOFILE=
#   seccomp     SystemCallFilter=, SystemCallErrorNumber=EPERM, SystemCallArchitectures=native,
#               RestrictAddressFamilies=, RestrictNamespaces=, LockPersonality=yes, RestrictRealtime=yes,
#               RestrictSUIDSGID=yes, and the system calls ProtectClock, ProtectHostname, ProtectKernelLogs,
#               ProtectKernelModules and PrivateDevices refuse: scripts/sandbox/seccomp-exec.c, built here with clang
#               and libseccomp
# A ReadWritePaths= entry naming the very path a protection makes read-only stays read-only (systemd's rule); a
# mount it cannot make read-only is named on stderr.
#   before      ExecStartPre= commands run first, outside the sandbox, as systemd runs a "+" command
#   memory      MemoryMax= and MemoryHigh=: the command runs in a memory cgroup of its own (cgroup v2: memory.max and
#               memory.high; v1: memory.limit_in_bytes and memory.soft_limit_in_bytes), removed after
# Not emulated (nothing to check at run time): RemoveIPC=, ProtectHostname's UTS namespace, the unit's lifecycle.
set -Eeuo pipefail
export LC_ALL=C
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
UNIT=$ROOT/distribution/src/main/dist/systemd/septum.service
STATE= RUN= EXTRA_RW=()

die() { echo "sandbox-run: $*" >&2; exit 2; }

if [ "${1:-}" = --inner ]; then
  # ---- inside the new mount namespace: the filesystem part, then the process and seccomp parts ----------------
  shift
  # shellcheck disable=SC1090
  . "$1"   # the plan written by the outer part
  shift
  [ "$1" = -- ] && shift
  mount --make-rslave /
  ro() { [ -e "$1" ] || return 0; mount --bind "$1" "$1" && mount -o remount,bind,ro "$1"; }
  rw() { [ -e "$1" ] || return 0; mount --bind "$1" "$1" && mount -o remount,bind,rw "$1"; }
  hide() { # an empty, unreadable directory (or file) over the path, as systemd's inaccessible nodes
    [ -e "$1" ] || return 0
    if [ -d "$1" ]; then mount -t tmpfs -o ro,mode=000,size=4k tmpfs "$1"; else mount --bind "$PLAN_DIR/inaccessible" "$1"; fi
  }
  failed=()
  if [ "$P_STRICT" = 1 ]; then
    while read -r mp; do
      case $mp in /proc|/proc/*|/sys|/sys/*|/dev|/dev/*) continue ;; esac
      [[ $mp == *\\* ]] && { failed+=("$mp (escaped name)"); continue; }
      mount -o remount,bind,ro "$mp" 2>/dev/null || failed+=("$mp")
    done < <(awk '{print $5}' /proc/self/mountinfo | sort -u)
  fi
  # the paths a protection makes read-only (or hides): a ReadWritePaths= entry of the very same path loses to it in
  # systemd, a deeper one wins; the same here
  protected=()
  if [ "$P_TUNABLES" = 1 ]; then
    for p in /proc/sys /proc/sysrq-trigger /proc/latency_stats /proc/acpi /proc/apm /proc/timer_list /proc/asound \
      /proc/bus /proc/fs /proc/irq /proc/mtrr /proc/scsi; do ro "$p"; protected+=("$p"); done
    for p in /proc/kallsyms /proc/kcore; do hide "$p"; protected+=("$p"); done
    while read -r mp; do
      case $mp in /sys|/sys/*) mount -o remount,bind,ro "$mp" 2>/dev/null || failed+=("$mp") ;; esac
    done < <(awk '{print $5}' /proc/self/mountinfo | sort -u)
    protected+=(/sys /sys/fs/bpf /sys/kernel/debug /sys/kernel/tracing)
  fi
  [ "$P_CGROUPS" = 1 ] && { ro /sys/fs/cgroup; protected+=(/sys/fs/cgroup); }
  if [ "$P_MODULES" = 1 ]; then hide /lib/modules; hide /usr/lib/modules; fi
  if [ "$P_HOME" = 1 ]; then hide /home; hide /root; hide /run/user; fi
  if [ "$P_TMP" = 1 ]; then
    mount -t tmpfs -o mode=1777 tmpfs /tmp
    mount -t tmpfs -o mode=1777 tmpfs /var/tmp
  fi
  if [ "$P_DEVICES" = 1 ]; then
    # a /dev of its own with the pseudo-devices only, as PrivateDevices=yes gives
    mount -t tmpfs -o mode=755,nosuid,noexec tmpfs /dev
    for d in "null 1 3" "zero 1 5" "full 1 7" "random 1 8" "urandom 1 9" "tty 5 0"; do
      read -r name major minor <<<"$d"
      mknod -m 666 "/dev/$name" c "$major" "$minor"
    done
    mkdir -p /dev/pts /dev/shm
    mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts /dev/pts
    ln -s pts/ptmx /dev/ptmx
    mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
    ln -s /proc/self/fd /dev/fd; ln -s /proc/self/fd/0 /dev/stdin; ln -s /proc/self/fd/1 /dev/stdout
    ln -s /proc/self/fd/2 /dev/stderr
  fi
  [ "$P_LOGS" = 1 ] && { hide /proc/kmsg; protected+=(/proc/kmsg); }
  for p in "${P_RW[@]}"; do
    if [[ " ${protected[*]} " == *" $p "* ]]; then
      echo "sandbox-run: ReadWritePaths=$p stays read-only: a protection names that very path (systemd's rule)" >&2
      continue
    fi
    rw "$p"
  done
  # a mount left writable would make the check prove less than it says: name them
  [ ${#failed[@]} -eq 0 ] || echo "sandbox-run: left as they were (could not be made read-only): ${failed[*]}" >&2
  umask "$P_UMASK"
  # a limit above the hard limit this process was given (a container's) stays at that hard limit, said once
  [ -z "$P_MEMLOCK" ] || ulimit -l "$P_MEMLOCK" 2>/dev/null || { ulimit -l "$(ulimit -Hl)"
    echo "sandbox-run: LimitMEMLOCK=$P_MEMLOCK not possible here; the hard limit $(ulimit -Hl) KiB applies" >&2; }
  [ -z "$P_NOFILE" ] || ulimit -n "$P_NOFILE" 2>/dev/null || { ulimit -n "$(ulimit -Hn)"
    echo "sandbox-run: LimitNOFILE=$P_NOFILE not possible here; the hard limit $(ulimit -Hn) applies" >&2; }
  setpriv_args=()
  [ -z "$P_CAPS" ] || setpriv_args+=("--bounding-set=$P_CAPS" "--inh-caps=-all")
  [ "$P_NNP" = 1 ] && setpriv_args+=(--no-new-privs)
  exec setpriv "${setpriv_args[@]}" "$PLAN_DIR/seccomp-exec" "${P_SECCOMP[@]}" -- "$@"
fi

while [ $# -gt 0 ]; do
  case $1 in
    --unit) UNIT=$2; shift 2 ;;
    --state) STATE=$2; shift 2 ;;
    --run) RUN=$2; shift 2 ;;
    --rw) EXTRA_RW+=("$2"); shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
[ $# -gt 0 ] || die "no command (see --help)"
[ "$(id -u)" = 0 ] || die "run as root"
[ -f "$UNIT" ] || die "no unit file $UNIT"
for t in unshare setpriv mount clang systemd-analyze; do command -v "$t" >/dev/null || die "$t is missing: run scripts/install-deps.sh"; done
[ -f /usr/include/seccomp.h ] || die "libseccomp-dev is missing: run scripts/install-deps.sh"

# ---- the unit's [Service] directives ----------------------------------------------------------------------------
declare -A ONE=()
ALLOW_GROUPS=() DENY_GROUPS=() PRE=()
section=
while IFS= read -r line || [ -n "$line" ]; do
  line=${line%%#*}
  [[ $line =~ ^[[:space:]]*$ ]] && continue
  if [[ $line =~ ^\[(.*)\]$ ]]; then section=${BASH_REMATCH[1]}; continue; fi
  [ "$section" = Service ] || continue
  key=${line%%=*} value=${line#*=}
  case $key in
    SystemCallFilter)
      if [[ $value == ~* ]]; then read -ra w <<<"${value#\~}"; DENY_GROUPS+=("${w[@]}")
      else read -ra w <<<"$value"; ALLOW_GROUPS+=("${w[@]}"); fi ;;
    ExecStartPre) PRE+=("$value") ;;
    ProtectSystem|ReadWritePaths|ProtectHome|PrivateTmp|PrivateDevices|ProtectKernelTunables|ProtectKernelModules| \
    ProtectKernelLogs|ProtectControlGroups|CapabilityBoundingSet|NoNewPrivileges|UMask|LimitMEMLOCK|LimitNOFILE| \
    SystemCallErrorNumber|SystemCallArchitectures|RestrictAddressFamilies|RestrictNamespaces|LockPersonality| \
    RestrictRealtime|RestrictSUIDSGID|ProtectClock|ProtectHostname|RemoveIPC|StateDirectory|RuntimeDirectory| \
    MemoryMax|MemoryHigh)
      ONE[$key]=$value ;;
    Type|NotifyAccess|ExecStart|Restart|RestartSec|TimeoutStartSec|TimeoutStopSec|KillMode|SuccessExitStatus| \
    RuntimeDirectoryMode|StateDirectoryMode) ;;
    *) die "$UNIT sets $key=, which this script does not emulate: emulate it here, or the check proves nothing" ;;
  esac
done <"$UNIT"
v() { printf '%s' "${ONE[$1]:-}"; }
case "$(v ProtectSystem)" in strict|"") ;; *) die "ProtectSystem=$(v ProtectSystem): only strict is emulated" ;; esac
case "$(v ProtectHome)" in read-only|tmpfs) die "ProtectHome=$(v ProtectHome): only yes or no is emulated" ;; esac
case "$(v SystemCallErrorNumber)" in EPERM) ;; *) die "SystemCallErrorNumber=$(v SystemCallErrorNumber): only EPERM is emulated" ;; esac
case "$(v SystemCallArchitectures)" in native|"") ;; *) die "SystemCallArchitectures=$(v SystemCallArchitectures): only native is emulated" ;; esac
[ -z "$(v StateDirectory)" ] || [ -n "$STATE" ] || die "the unit has StateDirectory=: say which directory stands for it (--state)"
[ -z "$(v RuntimeDirectory)" ] || [ -n "$RUN" ] || die "the unit has RuntimeDirectory=: say which directory stands for it (--run)"
yes() { # systemd's booleans; anything else for these settings is not emulated
  case "$(v "$1")" in
    yes|true|on|1) echo 1 ;;
    ""|no|false|off|0) echo 0 ;;
    *) die "$1=$(v "$1"): only a boolean is emulated" ;;
  esac
}

PLAN_DIR=$(mktemp -d /var/lib/sept-sandbox.XXXXXX)
CGROUP= # the memory cgroup for MemoryMax= and MemoryHigh=, below
memory_cgroup_remove() { # what the command left running in it is killed (systemd's KillMode=mixed would), then it goes
  [ -n "$CGROUP" ] || return 0
  local i p
  for i in 1 2 3 4 5 6 7 8 9 10; do
    rmdir "$CGROUP" 2>/dev/null && return 0
    while read -r p; do kill -KILL "$p" 2>/dev/null || true; done <"$CGROUP/cgroup.procs"
    sleep 0.2
  done
  echo "sandbox-run: could not remove the memory cgroup $CGROUP" >&2
}
trap 'rm -rf "$PLAN_DIR"; memory_cgroup_remove' EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
clang -O2 -Wall -o "$PLAN_DIR/seccomp-exec" "$ROOT/scripts/sandbox/seccomp-exec.c" -lseccomp
: >"$PLAN_DIR/inaccessible"
chmod 000 "$PLAN_DIR/inaccessible"

expand() { # syscall groups and names -> names, one a line (groups nest)
  local todo=("$@") seen=" " g
  while [ ${#todo[@]} -gt 0 ]; do
    g=${todo[0]} todo=("${todo[@]:1}")
    [[ $seen == *" $g "* ]] && continue
    seen+="$g "
    if [[ $g == @* ]]; then
      mapfile -t sub < <(systemd-analyze syscall-filter "$g" | sed -n 's/^    \([@a-z_0-9-]*\)$/\1/p')
      [ ${#sub[@]} -gt 0 ] || die "systemd-analyze knows no syscall group $g"
      todo+=("${sub[@]}")
    else
      echo "$g"
    fi
  done | sort -u
}
seccomp=()
if [ ${#ALLOW_GROUPS[@]} -gt 0 ]; then
  denied=("${DENY_GROUPS[@]}")
  # the system calls the protections refuse (systemd adds these filters for them)
  [ "$(yes ProtectClock)" = 1 ] && denied+=(@clock)
  [ "$(yes ProtectHostname)" = 1 ] && denied+=(sethostname setdomainname)
  [ "$(yes ProtectKernelLogs)" = 1 ] && denied+=(syslog)
  [ "$(yes ProtectKernelModules)" = 1 ] && denied+=(@module)
  [ "$(yes PrivateDevices)" = 1 ] && denied+=(@raw-io)
  comm -23 <(expand "${ALLOW_GROUPS[@]}") <(expand "${denied[@]}" | sort -u) >"$PLAN_DIR/allow"
  seccomp+=(--allow "$PLAN_DIR/allow")
else
  die "the unit has no SystemCallFilter= allow list: only an allow list is emulated"
fi
[ -z "$(v RestrictAddressFamilies)" ] || seccomp+=(--families "$(v RestrictAddressFamilies | tr ' ' ',')")
[ -z "$(v RestrictNamespaces)" ] || seccomp+=(--namespaces "$(v RestrictNamespaces | tr ' ' ',')")
[ "$(yes LockPersonality)" = 1 ] && seccomp+=(--lock-personality)
[ "$(yes RestrictRealtime)" = 1 ] && seccomp+=(--restrict-realtime)
[ "$(yes RestrictSUIDSGID)" = 1 ] && seccomp+=(--restrict-suid-sgid)

caps=
if [ -n "$(v CapabilityBoundingSet)" ]; then
  caps=-all
  for c in $(v CapabilityBoundingSet); do caps+=",+$(tr 'A-Z' 'a-z' <<<"${c#CAP_}")"; done
fi
rwpaths=()
read -ra rwpaths <<<"$(v ReadWritePaths)"
rwpaths=("${rwpaths[@]#-}")
[ -z "$STATE" ] || rwpaths+=("$STATE")
[ -z "$RUN" ] || rwpaths+=("$RUN")
rwpaths+=("${EXTRA_RW[@]}")
memlock=$(v LimitMEMLOCK); [ "$memlock" != infinity ] || memlock=unlimited
{
  echo "PLAN_DIR=$(printf '%q' "$PLAN_DIR")"
  echo "P_STRICT=$([ "$(v ProtectSystem)" = strict ] && echo 1 || echo 0)"
  echo "P_HOME=$(yes ProtectHome) P_TMP=$(yes PrivateTmp) P_DEVICES=$(yes PrivateDevices)"
  echo "P_TUNABLES=$(yes ProtectKernelTunables) P_MODULES=$(yes ProtectKernelModules) P_LOGS=$(yes ProtectKernelLogs)"
  echo "P_CGROUPS=$(yes ProtectControlGroups) P_NNP=$(yes NoNewPrivileges)"
  echo "P_UMASK=$(printf '%q' "$(v UMask || true)")"
  echo "P_MEMLOCK=$(printf '%q' "$memlock") P_NOFILE=$(printf '%q' "$(v LimitNOFILE)") P_CAPS=$(printf '%q' "$caps")"
  printf 'P_RW=('; printf '%q ' "${rwpaths[@]}"; echo ')'
  printf 'P_SECCOMP=('; printf '%q ' "${seccomp[@]}"; echo ')'
} >"$PLAN_DIR/plan"
[ -n "$(v UMask)" ] || sed -i 's/^P_UMASK=.*/P_UMASK=0022/' "$PLAN_DIR/plan"

# ---- MemoryMax= and MemoryHigh=: a memory cgroup below the one this script runs in ----------------------------
bytes() { # SIZE DIRECTIVE: systemd's sizes (decimal, with K, M, G or T: powers of 1024) or infinity -> bytes, or "max"
  local n=${1%[KMGT]} shift=0
  [ "$1" != infinity ] || { echo max; return; }
  [[ $n =~ ^[0-9]+$ ]] || die "$2=$1: only a size (digits, then K, M, G or T) or infinity is emulated"
  case $1 in *K) shift=10 ;; *M) shift=20 ;; *G) shift=30 ;; *T) shift=40 ;; esac
  echo $(( 10#$n << shift ))
}
MEM_MAX= MEM_HIGH=
[ -z "$(v MemoryMax)" ] || MEM_MAX=$(bytes "$(v MemoryMax)" MemoryMax)
[ -z "$(v MemoryHigh)" ] || MEM_HIGH=$(bytes "$(v MemoryHigh)" MemoryHigh)
if [ -n "$MEM_MAX$MEM_HIGH" ]; then
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    # v2: below the nearest cgroup up from this script's own whose children get the memory controller (a cgroup
    # with processes of its own cannot hand it down; the root usually does)
    parent=/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/self/cgroup)
    while [ "$parent" != /sys/fs/cgroup ] && ! grep -qw memory "$parent/cgroup.subtree_control" 2>/dev/null; do
      parent=$(dirname "$parent")
    done
    grep -qw memory "$parent/cgroup.subtree_control" ||
      die "MemoryMax=/MemoryHigh=: no cgroup up from this one hands the memory controller down (cgroup.subtree_control)"
    mkdir "$parent/sept-sandbox.$$" || die "cannot make the memory cgroup $parent/sept-sandbox.$$"
    CGROUP=$parent/sept-sandbox.$$
    [ -z "$MEM_MAX" ] || echo "$MEM_MAX" >"$CGROUP/memory.max"
    [ -z "$MEM_HIGH" ] || echo "$MEM_HIGH" >"$CGROUP/memory.high"
  elif [ -d /sys/fs/cgroup/memory ]; then # v1: no memory.high; the soft limit is what reclaim aims for
    parent=/sys/fs/cgroup/memory$(sed -n 's/^[0-9]*:memory://p' /proc/self/cgroup)
    mkdir "$parent/sept-sandbox.$$" || die "cannot make the memory cgroup $parent/sept-sandbox.$$"
    CGROUP=$parent/sept-sandbox.$$
    [ -z "$MEM_MAX" ] || [ "$MEM_MAX" = max ] || echo "$MEM_MAX" >"$CGROUP/memory.limit_in_bytes"
    [ -z "$MEM_HIGH" ] || [ "$MEM_HIGH" = max ] || echo "$MEM_HIGH" >"$CGROUP/memory.soft_limit_in_bytes"
  else
    die "the unit sets MemoryMax= or MemoryHigh=, and this machine has no memory cgroup to emulate them"
  fi
fi

for cmd in "${PRE[@]}"; do
  # "+": outside the sandbox, with full privileges; a command systemd would run inside it is not emulated
  [[ $cmd == +* ]] || die "ExecStartPre=$cmd: only '+' commands (run outside the sandbox) are emulated"
  bash -c "${cmd#+}" || die "ExecStartPre $cmd failed"
done
# the sandbox's own mount namespace; the command's exit status is ours, and SIGTERM or SIGINT sent to this script
# goes to the command (as systemd's stop signal goes to the service), which this script then waits for
# (SIGINT too goes on as SIGTERM: a background job of this script starts with SIGINT ignored, and so would the JVM)
child=
stopping=0
forward() { stopping=1; [ -z "$child" ] || kill -TERM "$child" 2>/dev/null || true; }
trap forward TERM INT
# the command starts in the memory cgroup (a shell that moves itself there, then execs): what it forks stays in it
in_cgroup=()
[ -z "$CGROUP" ] || in_cgroup=(sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$CGROUP")
"${in_cgroup[@]}" unshare --mount --propagation slave -- "$0" --inner "$PLAN_DIR/plan" -- "$@" &
child=$!
[ "$stopping" = 0 ] || kill -TERM "$child" 2>/dev/null || true
rc=0
wait "$child" || rc=$?
# a trapped signal ends the wait early (status above 128): wait again until the command itself has ended
while [ "$rc" -gt 128 ] && kill -0 "$child" 2>/dev/null; do rc=0; wait "$child" || rc=$?; done
exit "$rc"
