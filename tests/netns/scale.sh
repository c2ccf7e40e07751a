#!/usr/bin/env bash
# Many "hosts" on one LAN (network namespaces on a bridge, as in multihost.sh), a `river vm` in each,
# found by multicast alone. Measures how long after the last VM started listening every VM has a
# connected link to every other (from the VMs' own timestamped "joined"/"left" log lines), checks it with
# `river status --json` from one more namespace (every VM lists all the others, links connected), then runs
# Pi across all of them from that namespace. Too long for the suite (32 processes starting on 2 cores):
# the README names it.
#
# usage: scale.sh RIVER_CLI_DLL PI_DLL [VMS] [NAME_PREFIX]     (VMS defaults to 32)
# Exit 0: passed; 1: failed; 77: cannot run here (not root, no iproute2, no namespaces; reason on stdout).
# Environment: SCALE_WAIT (seconds the status check may take to see them converged, default 120);
# SCALE_BOUND (seconds to converge after the last VM listens, default 2; past it the run
# fails but still reports when it did converge, up to 120 s).
set -euo pipefail

cli=${1:?usage: scale.sh RIVER_CLI_DLL PI_DLL [VMS] [NAME_PREFIX]}
pi=${2:?usage: scale.sh RIVER_CLI_DLL PI_DLL [VMS] [NAME_PREFIX]}
count=${3:-32}
prefix=${4:-rs$$}
hosts=$((count + 1))   # the last namespace runs `river status` and Pi
port=7700
bound=${SCALE_BOUND:-2}
start_bound=120        # seconds for all VMs to start listening (32 .NET processes on 2 cores)
log_tail=15

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
netns_setup scale
netns_lan

cluster="scale$$"
key="$work/cluster.key"
new_key "$key"
me=$hosts

log "starting $count VMs"
for i in $(seq 1 "$count"); do
    start_vm "$i" "$cli" --bind "10.77.0.$i" --port $port --cluster "$cluster" --key-file "$key"
done

# When each VM says it listens (polled every 50 ms; the VMs' log lines carry their own timestamps).
declare -A listening=()
deadline=$((SECONDS + start_bound))
while [ ${#listening[@]} -lt "$count" ]; do
    for i in $(seq 1 "$count"); do
        [ -n "${listening[$i]:-}" ] && continue
        grep -qs "listening on 10.77.0.$i:$port" "$work/vm$i.out" && listening[$i]=$(date +%s.%3N)
        kill -0 "${vms[$((i - 1))]}" 2>/dev/null || { log "FAIL: VM $i exited"; exit 1; }
    done
    [ $SECONDS -lt $deadline ] || { log "FAIL: ${#listening[@]} of $count VMs listening after $start_bound s"; exit 1; }
    sleep 0.05
done
seen_last=$(printf '%s\n' "${listening[@]}" | sort -n | tail -1)

# stamps PATTERN LOG...: the time of day of each line of the VMs' logs matching PATTERN, as seconds since the epoch.
day=$(date +%F)
stamps() { local pattern=$1; shift; grep -hE "$pattern" "$@" | awk -v day="$day" '{ print day " " $1 }' | while read -r d t; do date -d "$d $t" +%s.%3N; done; }
# The start is timed by each VM's own "listening" log line (the same clock as the joins), not by this script's
# polling, which lags under the start's load.
last_start=$(stamps "listening on" "$work"/vm*.log | sort -n | tail -1)
first_start=$(stamps "listening on" "$work"/vm*.log | sort -n | head -1)
log "all $count VMs listening; first to last by their logs: $(awk -v a="$first_start" -v b="$last_start" 'BEGIN { printf "%.2f", b - a }') s (this script saw the last $(awk -v a="$last_start" -v b="$seen_last" 'BEGIN { printf "%.2f", b - a }') s after it logged)"

# Converged: every VM links to all the others (each VM's counts in links.txt). Wait for that (or SCALE_WAIT s), then take the last membership change.
status() { in_host "$me" timeout 60 "$dotnet" "$cli" status --json --seeds "10.77.0.1:$port" --cluster "$cluster" --key-file "$key"; }
converged() {
    status > "$work/status.json" 2>>"$work/status.log" || return 1
    python3 - "$work/status.json" "$count" > "$work/links.txt" <<'EOF'
import json, sys
vms = json.load(open(sys.argv[1])); n = int(sys.argv[2])
connected = {v["address"]: sum(1 for l in v["links"] if l["state"] == "connected") for v in vms}
for v in vms: print(v["address"], "members", len(v["members"]), "connected", connected[v["address"]])
sys.exit(0 if len(vms) == n and all(connected[v["address"]] == n - 1 and len(v["members"]) >= n - 1 for v in vms) else 1)
EOF
}
deadline=$((SECONDS + ${SCALE_WAIT:-120}))
until converged; do
    [ $SECONDS -lt $deadline ] || { log "FAIL: not converged ${SCALE_WAIT:-120} s after the last VM started"; cat "$work/status.log" "$work/links.txt"; exit 1; }
    sleep 0.5
done
# A membership change: a VM joined, left, or was heard again after a suspicion (it was out of Discover meanwhile).
last_change=$(stamps "VM [0-9a-f-]+ (joined|left|is heard again)" "$work"/vm*.log | sort -n | tail -1)
took=$(awk -v a="$last_start" -v b="$last_change" 'BEGIN { printf "%.2f", b - a }')
drops=$({ grep -hcE "left:|nothing heard" "$work"/vm*.log || true; } | awk '{ s += $1 } END { print s + 0 }')
# Negative: membership settled before the last VM logged "listening" (it may take the others' dials first).
log "converged: the last membership change came $took s after the last VM started listening ($drops lines \"left\" or \"nothing heard\" in all logs)"

in_host "$me" timeout 120 "$dotnet" "$pi" --discover --seeds "10.77.0.1:$port" --bind "10.77.0.$me" --cluster "$cluster" --key-file "$key" \
    > "$work/pi.out" 2> "$work/pi.log" \
    || { log "FAIL: Pi exited with $?"; cat "$work/pi.out"; exit 1; }
check_pi "$work/pi.out" $((count + 1))
awk -v t="$took" -v b="$bound" 'BEGIN { exit !(t <= b) }' || { log "FAIL: converged $took s after the last start, bound $bound s"; exit 1; }
log "PASS: $count VMs converged $took s after the last one started (bound $bound s); Pi on $workers workers: $estimate"
