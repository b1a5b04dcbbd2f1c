#!/usr/bin/env bash
# Sets up etcd authentication for a Septum cluster with etcdctl (Debian's etcd-client): a root user, and per node a
# user and a role septum-node-<name> that may write only that node's own keys, plus what every node shares
# (identities, cluster policies). Optionally writes operator CIDRs per node, a key no node's role can write, which
# other nodes then use instead of the CIDRs the node registers itself. Idempotent: run it again to add nodes, change
# CIDRs or re-apply permissions; existing passwords are kept. See docs/cluster.md, "Per-node etcd roles".
set -euo pipefail

usage() {
  cat <<'EOF'
usage: scripts/etcd-roles.sh --endpoints URLS --password-file FILE --node NAME [--node NAME]...
                             [--cidr NAME=CIDR[,CIDR...]]... [--credentials-dir DIR] [--cluster NAME]
                             [--policy-writer NAME]...

  --endpoints URLS        etcd client URLs, comma-separated (etcdctl's --endpoints)
  --password-file FILE    the root user's password (first line). If etcd has no root user yet, it is created with it
                          and authentication is enabled at the end; if auth is on, it is how this script logs in.
  --node NAME             a Septum node (its nodeName): user and role septum-node-NAME (repeatable)
  --cidr NAME=CIDRS       write the operator CIDRs of node NAME under septum/state/node-cidrs/v1/NAME; other nodes
                          then take NAME's endpoint addresses only inside them (repeatable; NAME= deletes the key)
  --credentials-dir DIR   where each node's password is kept, DIR/septum-node-NAME.password (mode 0600): created
                          when absent, reused when present (default: ./septum-etcd-credentials)
  --cluster NAME          the cluster name recorded under septum/cluster-config/NAME (default: default)
  --policy-writer NAME    only these nodes may write cluster policies (septum policy import --cluster); without this
                          option every node may (repeatable)
  -h, --help              this text

TLS: etcdctl's environment is honoured (ETCDCTL_CACERT, ETCDCTL_CERT, ETCDCTL_KEY).
Each node's io.septum.cluster.cfg then gets etcdUser=septum-node-NAME and etcdPasswordFile=<its copy of the file>.
EOF
}

die() { echo "etcd-roles: $*" >&2; exit 2; }

endpoints= password_file= credentials_dir=./septum-etcd-credentials cluster=default
nodes=() cidrs=() writers=()
while [ $# -gt 0 ]; do
  case "$1" in
    --endpoints) [ $# -ge 2 ] || die "--endpoints needs a value"; endpoints=$2; shift 2 ;;
    --password-file) [ $# -ge 2 ] || die "--password-file needs a value"; password_file=$2; shift 2 ;;
    --node) [ $# -ge 2 ] || die "--node needs a value"; nodes+=("$2"); shift 2 ;;
    --cidr) [ $# -ge 2 ] || die "--cidr needs a value NAME=CIDR[,CIDR...]"; cidrs+=("$2"); shift 2 ;;
    --credentials-dir) [ $# -ge 2 ] || die "--credentials-dir needs a value"; credentials_dir=$2; shift 2 ;;
    --cluster) [ $# -ge 2 ] || die "--cluster needs a value"; cluster=$2; shift 2 ;;
    --policy-writer) [ $# -ge 2 ] || die "--policy-writer needs a value"; writers+=("$2"); shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "etcd-roles: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done

command -v etcdctl >/dev/null || die "etcdctl not found: install Debian's etcd-client (scripts/install-deps.sh does)"
[ -n "$endpoints" ] || die "--endpoints is required (e.g. https://etcd-1.example:2379)"
[ -n "$password_file" ] || die "--password-file is required (the root user's password, first line)"
[ -r "$password_file" ] || die "--password-file $password_file cannot be read"
root_password=$(head -n1 "$password_file")
[ -n "$root_password" ] || die "--password-file $password_file is empty (its first line is root's password)"
[ ${#nodes[@]} -gt 0 ] || [ ${#cidrs[@]} -gt 0 ] || die "nothing to do: give at least one --node (or --cidr)"

valid_name() { [[ "$1" =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$ ]]; }
for n in "${nodes[@]}" "${writers[@]}"; do
  valid_name "$n" || die "node name '$n' is not valid: letters, digits, '.', '_' and '-', no '/' (it is a key segment)"
done
valid_name "$cluster" || die "cluster name '$cluster' is not valid: letters, digits, '.', '_' and '-'"
for w in "${writers[@]}"; do
  [[ " ${nodes[*]} " == *" $w "* ]] || die "--policy-writer $w is not one of the --node names"
done
cidr_re='^([0-9]{1,3}\.){3}[0-9]{1,3}/[0-9]{1,2}$|^[0-9A-Fa-f:]+/[0-9]{1,3}$'
for c in "${cidrs[@]}"; do
  [[ "$c" == *=* ]] || die "--cidr $c: expected NAME=CIDR[,CIDR...]"
  valid_name "${c%%=*}" || die "--cidr $c: node name '${c%%=*}' is not valid"
  list=${c#*=}
  if [ -n "$list" ]; then
    IFS=, read -r -a parts <<<"$list"
    for p in "${parts[@]}"; do [[ "$p" =~ $cidr_re ]] || die "--cidr $c: '$p' is not a CIDR (a.b.c.d/n or an IPv6 prefix)"; done
  fi
done

export ETCDCTL_API=3
unset ETCDCTL_USER
# etcdctl 3.4 retries an unreachable endpoint without end for some commands: bound every call.
etcdctl_() { timeout 20 etcdctl --dial-timeout=5s --command-timeout=15s --endpoints "$endpoints" "$@"; }
# Runs etcdctl; its own error (without the gRPC retry noise) is the message when it fails.
ctl() {
  local out
  if out=$(etcdctl_ "$@" 2>&1); then printf '%s\n' "$out" | grep -v '^stty: ' || true; return 0; fi
  printf '%s\n' "$out" | grep -v '"level":"warn"\|^stty: ' >&2
  return 1
}
# Same, reading a secret from stdin (passwords never go on the command line, where ps shows them).
ctl_in() {
  local secret=$1 out; shift
  if out=$(printf '%s\n' "$secret" | etcdctl_ "$@" 2>&1); then return 0; fi
  printf '%s\n' "$out" | grep -v '"level":"warn"\|^stty: ' >&2
  return 1
}

# Is authentication on? Without a user, etcd answers "user name is empty" when it is.
if probe=$(etcdctl_ user list 2>&1); then
  auth_on=false
elif [[ "$probe" == *"user name is empty"* ]]; then
  auth_on=true
  export ETCDCTL_USER="root:$root_password" # etcdctl reads it from its environment, not from argv
  if ! probe=$(etcdctl_ user get root 2>&1); then
    [[ "$probe" == *"invalid user ID or password"* ]] && die "etcd at $endpoints has authentication on and refuses root with the password in $password_file"
    die "etcd at $endpoints: $(printf '%s\n' "$probe" | grep -v '"level":"warn"' | tail -n1)"
  fi
else
  reason=$(printf '%s\n' "$probe" | grep -v '"level":"warn"' | tail -n1)
  die "cannot reach etcd at $endpoints: ${reason:-no answer within 20 s}"
fi

users=$(ctl user list) || die "cannot list etcd users"
roles=$(ctl role list) || die "cannot list etcd roles"
has() { printf '%s\n' "$1" | grep -qxF "$2"; }

if ! $auth_on; then
  if has "$users" root; then
    ctl_in "$root_password" user passwd root --interactive=false || die "cannot set root's password"
  else
    ctl_in "$root_password" user add root --interactive=false || die "cannot create the root user"
  fi
  has "$roles" root || ctl role add root >/dev/null || die "cannot create the root role"
  ctl user grant-role root root >/dev/null || die "cannot grant the root role to root"
fi

grant() { # role perm key [prefix]
  local args=(role grant-permission "$1" "$2" "$3")
  [ "${4:-}" = prefix ] && args+=(--prefix=true)
  ctl "${args[@]}" >/dev/null || die "cannot grant $2 on $3${4:+ (prefix)} to role $1"
}

if [ ${#nodes[@]} -gt 0 ]; then
  (umask 077; mkdir -p "$credentials_dir") || die "cannot create --credentials-dir $credentials_dir"
fi
for n in "${nodes[@]}"; do
  who="septum-node-$n"
  file="$credentials_dir/$who.password"
  if [ ! -s "$file" ]; then
    (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=\n' > "$file") || die "cannot write $file"
    echo "etcd-roles: new password for $who in $file" >&2
  fi
  pw=$(head -n1 "$file")
  if has "$users" "$who"; then
    ctl_in "$pw" user passwd "$who" --interactive=false || die "cannot set the password of $who"
  else
    ctl_in "$pw" user add "$who" --interactive=false || die "cannot create user $who"
  fi
  has "$roles" "$who" || ctl role add "$who" >/dev/null || die "cannot create role $who"
  # Read: everything Septum keeps (other nodes, their addresses, identities, policies, operator CIDRs).
  grant "$who" read septum/ prefix
  # Its own keys: registration, published addresses, realised policy revisions.
  grant "$who" readwrite "septum/state/nodes/v1/$n"
  grant "$who" readwrite "septum/state/ip/v1/$n/" prefix
  grant "$who" readwrite "septum/state/policy-status/v1/$n"
  # Shared: identity masters (id/<n>) and references (value/<labels>/<node>: the node is the last segment, which
  # etcd's key ranges cannot single out), and GC, which every node runs.
  grant "$who" readwrite septum/state/identities/v1/ prefix
  if [ ${#writers[@]} -eq 0 ] || [[ " ${writers[*]} " == *" $n "* ]]; then
    grant "$who" readwrite septum/state/policies/v1/ prefix
  else
    # a write permission from an earlier run would stay: take it back (read stays through septum/)
    ctl role revoke-permission "$who" septum/state/policies/v1/ --prefix=true >/dev/null 2>&1 || true
  fi
  ctl user grant-role "$who" "$who" >/dev/null || die "cannot grant role $who to user $who"
  echo "etcd-roles: node $n: user and role $who"
done

ctl put "septum/cluster-config/$cluster" "{\"name\":\"$cluster\"}" >/dev/null || die "cannot write septum/cluster-config/$cluster"

for c in "${cidrs[@]}"; do
  n=${c%%=*} list=${c#*=}
  key="septum/state/node-cidrs/v1/$n"
  if [ -z "$list" ]; then
    ctl del "$key" >/dev/null || die "cannot delete $key"
    echo "etcd-roles: node $n: operator CIDRs removed (its registered CIDRs count again)"
  else
    value="{\"cidrs\":[\"${list//,/\",\"}\"]}"
    ctl put "$key" "$value" >/dev/null || die "cannot write $key"
    echo "etcd-roles: node $n: operator CIDRs $list"
  fi
done

if ! $auth_on; then
  ctl auth enable >/dev/null || die "cannot enable authentication"
  echo "etcd-roles: authentication enabled (root's password is in $password_file)"
fi
