#!/usr/bin/env bash
# Three "hosts" on one LAN, made of Linux network namespaces joined by a bridge: a `river vm` in
# each finds the others by multicast alone (no seeds), `river status` from one host lists all three,
# and Pi started on one host runs on all of them.
#
# usage: multihost.sh RIVER_CLI_DLL PI_DLL [NAME_PREFIX]
# Exit 0: passed; 1: failed; 77: cannot run here (not root, no iproute2, no namespaces; reason on stdout).
# Everything it creates (namespaces, the bridge and veth pairs inside them, processes, a temp folder)
# is removed on exit, also on failure or SIGTERM. Addresses 10.77.0.0/24 exist only inside the namespaces.
set -euo pipefail

cli=${1:?usage: multihost.sh RIVER_CLI_DLL PI_DLL [NAME_PREFIX]}
pi=${2:?usage: multihost.sh RIVER_CLI_DLL PI_DLL [NAME_PREFIX]}
prefix=${3:-rv$$}
dotnet=${DOTNET_HOST_PATH:-dotnet}
hosts=3
port=7700
bound=20        # seconds for each wait below

skip() { echo "SKIP: $*"; exit 77; }
log() { echo "$(date +%T.%3N) $*"; }

[ "$(id -u)" -eq 0 ] || skip "needs root to create network namespaces"
command -v ip >/dev/null || skip "iproute2 (ip) is not installed"
command -v timeout >/dev/null || skip "coreutils timeout is not installed"

work=$(mktemp -d /tmp/river-multihost.XXXXXX)
bridge_ns="${prefix}br"
namespaces=()
vms=()
for i in $(seq 1 $hosts); do namespaces+=("${prefix}h$i"); done

# Kills whatever runs in our namespaces (only what this script started) and deletes them.
remove_namespaces() {
    for n in "${namespaces[@]}" "$bridge_ns"; do
        for p in $(ip netns pids "$n" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
        ip netns del "$n" 2>/dev/null
    done
}

cleanup() {
    local status=$?
    set +e
    kill -9 "$watchdog" 2>/dev/null   # it ignores TERM, which timeout(1) sends to the whole group
    remove_namespaces
    if [ "$status" -ne 0 ] && [ "$status" -ne 77 ]; then
        for f in "$work"/*.log; do [ -f "$f" ] && { echo "--- $(basename "$f")"; tail -n 40 "$f"; }; done
    fi
    rm -rf "$work"
    exit "$status"
}

# Should this script be SIGKILLed (no trap runs), a watchdog outliving it still removes the namespaces.
script_pid=$$
( trap '' TERM INT HUP; while kill -0 "$script_pid" 2>/dev/null; do sleep 1; done; remove_namespaces; rm -rf "$work" ) >/dev/null 2>&1 &
watchdog=$!
disown
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# Namespaces may be unavailable even to root (a restricted container): find out before building anything.
ip netns add "$bridge_ns" 2>/dev/null || skip "ip netns add failed (no network namespace support here)"
ip netns exec "$bridge_ns" true 2>/dev/null || skip "ip netns exec failed (cannot enter a network namespace here)"

# The LAN: a bridge in a namespace of its own (the host's network is never touched), one veth pair per host.
ip -n "$bridge_ns" link add br0 type bridge
ip -n "$bridge_ns" link set br0 type bridge mcast_snooping 0   # flood multicast to every port, no IGMP querier needed
ip -n "$bridge_ns" link set br0 up
for i in $(seq 1 $hosts); do
    n="${prefix}h$i"
    ip netns add "$n"
    ip -n "$bridge_ns" link add "port$i" type veth peer name eth0 netns "$n"
    ip -n "$bridge_ns" link set "port$i" master br0 up
    ip -n "$n" link set lo up
    ip -n "$n" addr add "10.77.0.$i/24" dev eth0
    ip -n "$n" link set eth0 up
    ip -n "$n" route add 224.0.0.0/4 dev eth0
done
log "namespaces ${namespaces[*]} on bridge br0 in $bridge_ns"

cluster="multihost$$"
key="$work/cluster.key"
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$key"
in_host() { local i=$1; shift; ip netns exec "${prefix}h$i" "$@"; }

# One VM per host: multicast on, no seeds.
for i in $(seq 1 $hosts); do
    in_host "$i" "$dotnet" "$cli" vm --bind "10.77.0.$i" --port $port --cluster "$cluster" --key-file "$key" \
        > "$work/vm$i.out" 2> "$work/vm$i.log" &
    vms+=($!)
    disown   # killed with its namespace in cleanup; no job notices
done
for i in $(seq 1 $hosts); do
    deadline=$((SECONDS + bound))
    until grep -q "listening on 10.77.0.$i:$port" "$work/vm$i.out"; do
        [ $SECONDS -lt $deadline ] || { log "FAIL: VM $i did not start within $bound s"; exit 1; }
        kill -0 "${vms[$((i - 1))]}" 2>/dev/null || { log "FAIL: VM $i exited"; exit 1; }
        sleep 0.2
    done
done
log "VMs listening on 10.77.0.1-$hosts:$port"

# Multicast alone must make the three a cluster: status from host 1 lists all of them.
deadline=$((SECONDS + bound))
while true; do
    found=$(in_host 1 timeout 15 "$dotnet" "$cli" status --json --seeds "10.77.0.1:$port" --cluster "$cluster" --key-file "$key" 2>>"$work/status.log" \
        | tee "$work/status.json" | grep -c '"address"' || true)
    [ "$found" -eq $hosts ] && break
    [ $SECONDS -lt $deadline ] || { log "FAIL: status lists $found VMs after $bound s, expected $hosts"; cat "$work/status.json"; exit 1; }
    sleep 0.5
done
log "status from host 1 lists $found VMs: $(grep -o '"address": "[^"]*"' "$work/status.json" | cut -d'"' -f4 | tr '\n' ' ')"

# Pi from host 1, multicast on (--discover): its own VM and the three must all work. The seed is there
# because with --discover alone RiverVm.JoinAsync may return before multicast has found every VM
# (it settles after 300 ms without membership changes, and the first announcements can take longer),
# so Pi would sometimes run on fewer workers.
in_host 1 timeout 60 "$dotnet" "$pi" --discover --seeds "10.77.0.1:$port" --bind 10.77.0.1 --cluster "$cluster" --key-file "$key" \
    > "$work/pi.out" 2> "$work/pi.log" \
    || { log "FAIL: Pi exited with $?"; cat "$work/pi.out"; exit 1; }
cat "$work/pi.out"
workers=$(sed -n 's/^samples: [0-9]*, workers: \([0-9]*\)$/\1/p' "$work/pi.out")
estimate=$(sed -n 's/^pi = \([0-9.]*\) .*/\1/p' "$work/pi.out")
[ "$workers" = $((hosts + 1)) ] || { log "FAIL: Pi ran on ${workers:-?} workers, expected $((hosts + 1))"; exit 1; }
awk -v p="$estimate" 'BEGIN { exit !(p > 3.13159 && p < 3.15159) }' || { log "FAIL: pi = $estimate is not within 0.01 of pi"; exit 1; }
log "PASS: 3 VMs found each other by multicast; Pi on $workers workers: $estimate"
