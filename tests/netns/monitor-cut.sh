#!/usr/bin/env bash
# Two "hosts" (network namespaces on a bridge, as in cut.sh): a `river vm` on h1, and the Linked sample on h2,
# whose initiator links (trapping exits) to a worker it deploys on h1's VM. A second after the link is made,
# the network between the hosts is cut (h2's eth0 down): the initiator must hear "worker ended: lost" within
# LOST_BOUND seconds (default 5: the failure timeout is 2 s; the rest is slack for a loaded machine). On the
# other side, the worker's half of the link sees the initiator lost as well, and the worker, which does not
# trap exits, fails with LinkedVrFailedException at its next Send. Then the link is restored.
#
# usage: monitor-cut.sh RIVER_CLI_DLL LINKED_DLL [NAME_PREFIX]
# Exit 0: passed (the last line says how long detection took); 1: failed; 77: cannot run here (reason on stdout).
# Everything it creates is removed on exit, as in cut.sh. Addresses 10.77.0.0/24 exist only inside the namespaces.
set -euo pipefail

cli=${1:?usage: monitor-cut.sh RIVER_CLI_DLL LINKED_DLL [NAME_PREFIX]}
linked=${2:?usage: monitor-cut.sh RIVER_CLI_DLL LINKED_DLL [NAME_PREFIX]}
prefix=${3:-rm$$}
hosts=2
port=7700
bound=20                  # seconds for the VM to start, the worker to be linked, and the program to end after the cut
lost_bound=${LOST_BOUND:-5}
log_tail=60

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
netns_setup monitor-cut
netns_lan

cluster="mcut$$"
key="$work/cluster.key"
new_key "$key"
now() { date +%s.%N; }

start_vm 1 "$cli" --port $port --bind 10.77.0.1 --no-multicast --cluster "$cluster" --key-file "$key"
wait_listening 1 "10.77.0.1:$port" $bound
log "VM listening on 10.77.0.1:$port"

in_host 2 timeout $((bound * 3)) "$dotnet" "$linked" --seeds "10.77.0.1:$port" --bind 10.77.0.2 --cluster "$cluster" --key-file "$key" \
    --ticks 1000000 > "$work/linked.out" 2> "$work/linked.log" &
program=$!

wait_output "$work/linked.out" "^linked to worker" $bound "$program" "$work/linked.out" "the worker linked"
log "$(head -n 1 "$work/linked.out")"
sleep 1

ip -n "${prefix}h2" link set eth0 down
cut_at=$(now)
log "CUT: h2's eth0 down"

status=0
timeout $bound bash -c "until grep -qs '^worker ended' '$work/linked.out'; do sleep 0.05; done" || status=$?
heard=$(now)
took=$(awk -v a="$cut_at" -v b="$heard" 'BEGIN { printf "%.2f", b - a }')
# h1's side, while the cut lasts (healed, the initiator's goodbye could reach h1 before its suspicion does):
# the worker's half of the link saw the initiator lost; it does not trap exits, so it failed, of that loss
# (any LinkedVrFailedException would not show that the cut, rather than some other end, reached h1).
worker_lost='LinkedVrFailedException: Linked VR [0-9a-f-]* was lost: its VM is suspected or gone'
deadline=$((SECONDS + bound))
worker_failed=0
until grep -qs "$worker_lost" "$work/vm1.log"; do
    [ $SECONDS -lt $deadline ] || { worker_failed=1; break; }
    sleep 0.1
done
ip -n "${prefix}h2" link set eth0 up
log "RESTORED: h2's eth0 up"
[ "$status" -eq 0 ] || { log "FAIL: the initiator heard nothing of its worker within $bound s of the cut"; exit 1; }
ended=$(grep '^worker ended' "$work/linked.out")
log "initiator: $ended, $took s after the cut"
[[ "$ended" == "worker ended: lost after "* ]] || { log "FAIL: expected 'worker ended: lost after ...'"; exit 1; }
awk -v t="$took" -v b="$lost_bound" 'BEGIN { exit !(t < b) }' || { log "FAIL: lost after $took s, bound $lost_bound s"; exit 1; }
wait "$program" || { log "FAIL: the program exited with $?"; exit 1; }
[ "$worker_failed" -eq 0 ] || { log "FAIL: the worker on h1 did not fail of its link to the lost initiator"; exit 1; }

log "worker: $(grep -m1 -o "$worker_lost" "$work/vm1.log")"
log "PASS: a network cut reached the linked initiator as lost in $took s, and the worker failed of its link"
