#!/usr/bin/env bash
# Many "hosts" on one LAN (network namespaces on a bridge, as in multihost.sh), a `river vm` in each,
# found by multicast alone. Measures how long after the last VM started listening every VM has a
# connected link to every other (from the VMs' own timestamped "listening", "joined", "left" and "heard
# again" log lines, one clock), checks it with `river status --json` from one more namespace (every VM
# lists all the others, links connected), then runs Pi across all of them from that namespace. Too long
# for the suite (32 processes starting on 2 cores): the README names it.
#
# By default the last VM starts once the others have converged: the bound is how fast a settled cluster
# takes in a newcomer. SCALE_LATE=0 starts all at once instead: then every VM's first joins (code compiled
# on first use, about 0.3 CPU-s a VM) compete for the same cores, and on 2 cores 32 VMs take seconds more.
#
# usage: scale.sh RIVER_CLI PI_DLL [VMS] [NAME_PREFIX]     (VMS defaults to 32; RIVER_CLI: River.Cli.dll, or the
# executable of river's self-contained Host build, which starts in about half the CPU: src/River.Cli/River.Cli.csproj)
# Exit 0: passed; 1: failed; 77: cannot run here (not root, no iproute2, no namespaces; reason on stdout).
# Environment: SCALE_LATE (VMs started after the others converged, default 1); SCALE_WAIT (seconds the
# status check may take to see them converged, default 120); SCALE_BOUND (seconds to converge after the
# last VM listens, default 2; past it the run fails but still reports when it did converge and runs Pi).
set -euo pipefail

cli=${1:?usage: scale.sh RIVER_CLI PI_DLL [VMS] [NAME_PREFIX]}
pi=${2:?usage: scale.sh RIVER_CLI PI_DLL [VMS] [NAME_PREFIX]}
count=${3:-32}
prefix=${4:-rs$$}
late=${SCALE_LATE:-1}
hosts=$((count + 1))   # the last namespace runs `river status` and Pi
port=7700
bound=${SCALE_BOUND:-2}
start_bound=120        # seconds for VMs to start listening (32 .NET processes on 2 cores)
log_tail=15
[ "$late" -ge 0 ] && [ "$late" -lt "$count" ] || { echo "SCALE_LATE must be 0 to $((count - 1))"; exit 1; }

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
netns_setup scale
netns_lan

cluster="scale$$"
key="$work/cluster.key"
new_key "$key"
me=$hosts

# start FIRST LAST: VMs FIRST..LAST, then waits until each says it listens. Polled 4 times a second with
# one grep for all of them: 32 greps every 50 ms took more than half a core from the VMs being measured.
start() {
    local first=$1 last=$2 i
    log "starting VMs $first to $last"
    for i in $(seq "$first" "$last"); do
        start_vm "$i" "$cli" --bind "10.77.0.$i" --port $port --cluster "$cluster" --key-file "$key"
    done
    local deadline=$((SECONDS + start_bound)) files=() listening
    for i in $(seq "$first" "$last"); do files+=("$work/vm$i.out"); done
    while true; do
        for i in $(seq "$first" "$last"); do
            kill -0 "${vms[$((i - 1))]}" 2>/dev/null || { log "FAIL: VM $i exited"; exit 1; }
        done
        listening=$({ grep -lsE "listening on 10\.77\.0\.[0-9]+:$port" "${files[@]}" || true; } | wc -l)
        [ "$listening" -lt "${#files[@]}" ] || return 0
        [ $SECONDS -lt $deadline ] || { log "FAIL: $((${#files[@]} - listening)) of VMs $first to $last not listening after $start_bound s"; exit 1; }
        sleep 0.25
    done
}

# seconds: each input line's leading time of day (HH:MM:SS.mmm) as seconds since midnight of the day the run
# started; a time more than a minute before the start is after the next midnight (86400 more).
seconds() {
    awk -v t0="${started_at:-0}" '{ split($1, t, ":"); s = t[1] * 3600 + t[2] * 60 + t[3]
        if (s < t0 - 60) s += 86400
        printf "%.3f\n", s }'
}
started_at=$(date +%T.%3N | seconds)
# stamps PATTERN: the time of each line of the VMs' logs matching PATTERN, in seconds (one awk, not a `date` a line).
stamps() { { grep -hE "$1" "$work"/vm*.log || true; } | seconds; }

# converged N: `river status` lists VMs 1..N, each linked to all the others (each VM's counts in links.txt).
status() { river_command "$cli"; in_host "$me" timeout 60 "${river_run[@]}" status --json --seeds "10.77.0.1:$port" --cluster "$cluster" --key-file "$key"; }
converged() {
    status > "$work/status.json" 2>>"$work/status.log" || return 1
    python3 - "$work/status.json" "$1" > "$work/links.txt" <<'PY'
import json, sys
vms = json.load(open(sys.argv[1])); n = int(sys.argv[2])
connected = {v["address"]: sum(1 for l in v["links"] if l["state"] == "connected") for v in vms}
for v in vms: print(v["address"], "members", len(v["members"]), "connected", connected[v["address"]])
sys.exit(0 if len(vms) == n and all(connected[v["address"]] == n - 1 and len(v["members"]) >= n - 1 for v in vms) else 1)
PY
}
# wait_converged N: until converged N, or SCALE_WAIT seconds. `river status` is a .NET process of its own
# (a few hundred ms of CPU), so it asks only once the VMs' logs show no membership change for 2 s.
wait_converged() {
    local deadline=$((SECONDS + ${SCALE_WAIT:-120})) now last
    while true; do
        now=$(date +%T.%3N | seconds)
        last=$(stamps "VM [0-9a-f-]+ (joined|left|is heard again)|listening on" | sort -n | tail -1)
        if awk -v n="$now" -v l="${last:-0}" 'BEGIN { exit !(n - l >= 2) }' && converged "$1"; then return 0; fi
        [ $SECONDS -lt $deadline ] || { log "FAIL: $1 VMs not converged within ${SCALE_WAIT:-120} s"; cat "$work/status.log" "$work/links.txt"; exit 1; }
        sleep 0.5
    done
}

early=$((count - late))
start 1 "$early"
if [ "$late" -gt 0 ]; then
    wait_converged "$early"
    log "VMs 1 to $early converged (river status)"
    start $((early + 1)) "$count"
fi
# The start is timed by each VM's own "listening" log line (the same clock as the joins), not by this
# script's polling, which lags under load.
last_start=$(stamps "listening on" | sort -n | tail -1)
first_start=$(stamps "listening on" | sort -n | head -1)
log "all $count VMs listening; first to last by their logs: $(awk -v a="$first_start" -v b="$last_start" 'BEGIN { printf "%.2f", b - a }') s"

wait_converged "$count"
# A membership change: a VM joined, left, or was heard again after a suspicion (it was out of Discover meanwhile).
last_change=$(stamps "VM [0-9a-f-]+ (joined|left|is heard again)" | sort -n | tail -1)
took=$(awk -v a="$last_start" -v b="$last_change" 'BEGIN { printf "%.2f", b - a }')
drops=$({ grep -hcE "left:|nothing heard" "$work"/vm*.log || true; } | awk '{ s += $1 } END { print s + 0 }')
# Negative: membership settled before the last VM logged "listening" (it may take the others' dials first).
log "converged: the last membership change came $took s after the last VM started listening ($drops lines \"left\" or \"nothing heard\" in all logs)"

in_host "$me" timeout 120 "$dotnet" "$pi" --discover --seeds "10.77.0.1:$port" --bind "10.77.0.$me" --cluster "$cluster" --key-file "$key" \
    > "$work/pi.out" 2> "$work/pi.log" \
    || { log "FAIL: Pi exited with $?"; cat "$work/pi.out"; exit 1; }
check_pi "$work/pi.out" $((count + 1))
awk -v t="$took" -v b="$bound" 'BEGIN { exit !(t <= b) }' || { log "FAIL: converged $took s after the last start, bound $bound s"; exit 1; }
log "PASS: $count VMs ($late started last) converged $took s after the last one started (bound $bound s); Pi on $workers workers: $estimate"
