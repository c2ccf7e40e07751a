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
hosts=3
port=7700
bound=20        # seconds for each wait below

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
netns_setup multihost
netns_lan

cluster="multihost$$"
key="$work/cluster.key"
new_key "$key"

# One VM per host: multicast on, no seeds.
for i in $(seq 1 $hosts); do
    start_vm "$i" "$cli" --bind "10.77.0.$i" --port $port --cluster "$cluster" --key-file "$key"
done
for i in $(seq 1 $hosts); do wait_listening "$i" "10.77.0.$i:$port" $bound; done
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
check_pi "$work/pi.out" $((hosts + 1))
log "PASS: 3 VMs found each other by multicast; Pi on $workers workers: $estimate"
