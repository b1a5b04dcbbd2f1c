#!/usr/bin/env bash
# Runs one fuzz target (a Jazzer @FuzzTest) in fuzzing mode for a bounded time and prints what it did:
# executions, new corpus entries, findings. Without this script the same tests replay only their seed inputs,
# as ordinary tests of `mvn verify`.
#
#   scripts/fuzz.sh --list
#   scripts/fuzz.sh TARGET [--minutes N | --seconds N]   (default: 2 minutes)
#   scripts/fuzz.sh --all  [--minutes N | --seconds N]   (each target in turn, N each)
#
# Works offline (mvn -o) against ~/.m2; builds only the target's module and what it needs (-am), never installs.
# A finding stops the run: Jazzer writes the input as crash-<sha1> into the target's seed directory
# (src/test/resources/<package>/<Class>Inputs/<method>/), where the normal test run replays it from then on.
# New coverage goes to the module's .cifuzz-corpus/ (not committed).
set -euo pipefail
cd "$(dirname "$0")/.."

# name | module | test class | method | what it fuzzes
TARGETS="policy-parser|bundles/policy|io.septum.policy.internal.PolicyParserFuzzTest|parse|CNP/CCNP/KNP YAML parser and the compiled set
case-parser|bundles/policy|io.septum.policy.internal.CaseParserFuzzTest|parse|corpus case parser and case evaluation
rest-request|bundles/api-server|io.septum.apiserver.internal.ApiRequestFuzzTest|decode|REST API request decoding (Netty decoder, RequestGuard, routes)
l7-request|bundles/proxy-http|io.septum.proxy.http.internal.L7RequestFuzzTest|request|L7 proxy request path (decoder, path normalizer, policy judge)
flow-log|bundles/observer|io.septum.observer.internal.FlowLogFuzzTest|read|flow log segment reader, flow filters, policy suggester
bpf-event|bundles/datapath-ebpf|io.septum.datapath.ebpf.internal.EventDecoderFuzzTest|decode|BPF event decoder (ring-buffer records)
dns-message|bundles/proxy-http|io.septum.proxy.dns.internal.DnsMessageFuzzTest|parse|DNS proxy's message parser (queries, answers, REFUSED replies)"

usage() {
    sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
    echo
    echo "Targets:"
    list
}

list() {
    while IFS='|' read -r name module _ _ what; do printf '  %-14s %-22s %s\n' "$name" "$module" "$what"; done <<<"$TARGETS"
}

seconds=120
all=false
target=""
while [ $# -gt 0 ]; do
    case "$1" in
        --list) list; exit 0 ;;
        -h|--help) usage; exit 0 ;;
        --all) all=true ;;
        --minutes|--seconds)
            [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: $1 needs a positive whole number" >&2; exit 2; }
            if [ "$1" = --minutes ]; then seconds=$(( $2 * 60 )); else seconds=$2; fi
            shift ;;
        -*) echo "fuzz.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
        *) [ -z "$target" ] || { echo "fuzz.sh: one target at a time, or --all" >&2; exit 2; }; target=$1 ;;
    esac
    shift
done
if ! $all && [ -z "$target" ]; then usage >&2; exit 2; fi
if $all && [ -n "$target" ]; then echo "fuzz.sh: either TARGET or --all" >&2; exit 2; fi

# Runs one target; prints one summary line; returns non-zero on a finding or a failed run.
run() {
    local name=$1 line module class method log seeds before after execs corpus status
    line=$(grep "^$name|" <<<"$TARGETS") || { echo "fuzz.sh: no target '$name' (see --list)" >&2; return 2; }
    IFS='|' read -r _ module class method _ <<<"$line"
    seeds="$module/src/test/resources/$(dirname "${class//.//}")/$(basename "${class//.//}")Inputs/$method"
    log="$module/target/fuzz-$name.log"
    mkdir -p "$module/target"
    before=$(ls "$seeds" | grep -c '^crash-' || true)
    echo "fuzz.sh: $name for ${seconds}s ($class#$method), log in $log" >&2
    status=0
    # jazzer.internal.arg.N are libFuzzer arguments (arg.0 is argv[0]); given after the annotation's maxDuration,
    # they win: -max_total_time bounds the run, -timeout turns a slow input (a hang) into a finding.
    JAZZER_FUZZ=1 mvn -B -ntp -o -Dstyle.color=never -pl "$module" -am verify \
        -Dtest="$class#$method" -Dsurefire.failIfNoSpecifiedTests=false -Dseptum.forkTimeout=0 -Djazzer.hooks=true \
        -Djazzer.internal.arg.0=fuzz -Djazzer.internal.arg.1=-max_total_time="$seconds" \
        -Djazzer.internal.arg.2=-timeout=10 -Djazzer.internal.arg.3=-print_final_stats=1 \
        >"$log" 2>&1 || status=$?
    after=$(ls "$seeds" | grep -c '^crash-' || true)
    execs=$(grep -ao 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | awk '{print $2}')
    [ -n "$execs" ] || execs=$(grep -aoE '^#[0-9]+' "$log" | tail -1 | tr -d '#')
    corpus=$(grep -ao 'stat::new_units_added: *[0-9]*' "$log" | tail -1 | awk '{print $2}')
    printf '%-14s executions=%s new-corpus=%s seconds=%s findings=%s exit=%s\n' "$name" "${execs:-?}" "${corpus:-?}" \
        "$seconds" "$((after - before))" "$status"
    if [ "$((after - before))" -gt 0 ]; then
        ls -t "$seeds" | grep '^crash-' | head -n "$((after - before))" | sed "s|^|  new finding: $seeds/|"
        grep -a -m1 -A3 '== Java Exception' "$log" | sed 's/^/  /' || true
    fi
    [ "$status" = 0 ] && [ "$after" = "$before" ]
}

if $all; then
    failed=0
    # mvn reads stdin: without </dev/null the first run would swallow the rest of the list
    while IFS='|' read -r name _; do run "$name" </dev/null || failed=1; done <<<"$TARGETS"
    exit $failed
fi
run "$target"
