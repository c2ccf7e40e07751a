#!/usr/bin/env bash
# Two "hosts" (network namespaces on a bridge, as in multihost.sh): a `river vm` with role=sink on h1, and
# the Stream sample on h2 streaming 300,000 numbered packets to a sink VR on h1. Half a second after h1's VM
# has deployed the sink, the network between the hosts is cut for 10 s (h2's eth0 down), then restored.
# The cut is within the grace period (30 s), so the VMs only suspect each other and their link resumes:
# the program must end with every packet received once and in order.
#
# usage: cut.sh RIVER_CLI_DLL STREAM_DLL [NAME_PREFIX]
# Environment: CUT_SECONDS (default 10); CUT_AT=host (default: h2's eth0 down) or bridge (h2's bridge port down);
# CUT_LOG_LEVEL (e.g. Debug) is passed as --log-level to both sides.
# Exit 0: passed; 1: failed; 77: cannot run here (not root, no iproute2, no namespaces; reason on stdout).
# Everything it creates (namespaces, the bridge and veth pairs inside them, processes, a temp folder)
# is removed on exit, also on failure or SIGTERM. Addresses 10.77.0.0/24 exist only inside the namespaces.
set -euo pipefail

cli=${1:?usage: cut.sh RIVER_CLI_DLL STREAM_DLL [NAME_PREFIX]}
stream=${2:?usage: cut.sh RIVER_CLI_DLL STREAM_DLL [NAME_PREFIX]}
prefix=${3:-rc$$}
hosts=2
port=7700
bound=20                  # seconds for the VM to start and for the sink to be deployed
cut_seconds=${CUT_SECONDS:-10}
count=300000
program_bound=120         # seconds the program may run in all
log_tail=60

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
netns_setup cut
netns_lan

cluster="cut$$"
key="$work/cluster.key"
new_key "$key"
# The program logs warnings only unless told otherwise; at Information both sides say when the other is heard again.
vm_level=()
program_level=(--log-level Information)
[ -n "${CUT_LOG_LEVEL:-}" ] && { vm_level=(--log-level "$CUT_LOG_LEVEL"); program_level=(--log-level "$CUT_LOG_LEVEL"); }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

start_vm 1 "$cli" --port $port --bind 10.77.0.1 --no-multicast --attr role=sink --cluster "$cluster" --key-file "$key" "${vm_level[@]}"
wait_listening 1 "10.77.0.1:$port" $bound
log "VM listening on 10.77.0.1:$port (role=sink)"

started=$(now)
in_host 2 timeout $program_bound "$dotnet" "$stream" --seeds "10.77.0.1:$port" --bind 10.77.0.2 --cluster "$cluster" --key-file "$key" \
    --count $count --pause-every 100 "${program_level[@]}" > "$work/stream.out" 2> "$work/stream.log" &
program=$!

wait_output "$work/vm1.log" "Deployed NumberedStream" $bound "$program" "$work/stream.out" "the sink deployed"
log "sink deployed on h1 ($(since "$started") s after the program started)"
sleep 0.5

# h2's own eth0 goes down (its routes go with it: its sends and dials fail at once), or with CUT_AT=bridge
# h2's port on the bridge (h2 sees its link lose carrier; what it sends goes nowhere).
case "${CUT_AT:-host}" in
    host) cut_link=(-n "${prefix}h2" link set eth0); what="h2's eth0" ;;
    bridge) cut_link=(-n "$bridge_ns" link set port2); what="h2's bridge port" ;;
    *) log "FAIL: CUT_AT is host or bridge, not $CUT_AT"; exit 1 ;;
esac
ip "${cut_link[@]}" down
cut_at=$(now)
log "CUT: $what down"
sleep "$cut_seconds"
kill -0 "$program" 2>/dev/null || log "note: the program ended during the cut"
ip "${cut_link[@]}" up
ip -n "${prefix}h2" route replace 224.0.0.0/4 dev eth0   # eth0 going down took this route with it
restored=$(now)
log "RESTORED: $what up after $(awk -v a="$cut_at" -v b="$restored" 'BEGIN { printf "%.1f", b - a }') s"

status=0
wait "$program" || status=$?
log "the program ended $(since "$restored") s after the link came back, exit $status"
cat "$work/stream.out"
# What each side made of the cut (the VM on h1 and the program's own VM on h2).
for f in vm1 stream; do
    grep -E "suspected|heard again|Closed the connection|gone|unreachable|Refused|Connection to VM" "$work/$f.log" | sed "s/^/$f: /" | tail -n 20 || true
done
[ "$status" -ne 124 ] || { log "FAIL: the program did not end within $program_bound s"; exit 1; }
[ "$status" -eq 0 ] || { log "FAIL: the program exited with $status"; exit 1; }
report=$(grep -E '^received [0-9]+ of [0-9]+, gaps [0-9]+, duplicates [0-9]+' "$work/stream.out" || true)
[[ "$report" == "received $count of $count, gaps 0, duplicates 0,"* ]] || { log "FAIL: expected received $count of $count, gaps 0, duplicates 0; got: ${report:-no report}"; exit 1; }
# The cut must have been felt (each side suspected the other) and healed within the grace period.
for f in vm1 stream; do
    grep -q "suspected: nothing heard" "$work/$f.log" || { log "FAIL: $f.log does not say the other side was suspected during the cut"; exit 1; }
    grep -q "heard again: nothing was lost" "$work/$f.log" || { log "FAIL: $f.log does not say the other side was heard again after the cut"; exit 1; }
    ! grep -q "(the grace period)" "$work/$f.log" || { log "FAIL: $f.log declared the other side gone"; exit 1; }
done
log "PASS: a ${cut_seconds} s network cut mid-stream lost, repeated and reordered nothing: $report"
