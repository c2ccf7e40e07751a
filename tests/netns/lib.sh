# Shared by the tests in this folder (source it; not run on its own): "hosts" made of Linux network
# namespaces joined by a bridge in a namespace of its own, `river vm` processes in them, and the cleanup
# that removes it all on exit, also on failure, SIGTERM or (through a watchdog) SIGKILL of the script.
#
# The sourcing script sets `prefix` (namespace names start with it) and `hosts` (how many), then calls
# netns_setup NAME (checks it can run here, exit 77 otherwise; a temp folder $work; cleanup) and netns_lan.
# Host i is namespace ${prefix}h$i with eth0 = 10.77.0.$i/24; its bridge port is port$i in $bridge_ns.
# NETNS_KEEP_LOGS=DIR in the environment copies the run's logs there on exit.

dotnet=${DOTNET_HOST_PATH:-dotnet}

skip() { echo "SKIP: $*"; exit 77; }
log() { echo "$(date +%T.%3N) $*"; }

# Kills whatever runs in our namespaces (only what this script started) and deletes them.
remove_namespaces() {
    for n in "${namespaces[@]}" "$bridge_ns"; do
        for p in $(ip netns pids "$n" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
        ip netns del "$n" 2>/dev/null
        rm -rf "/etc/netns/$n"   # a namespace's own resolv.conf (ip netns exec mounts it), if the test made one
    done
}

cleanup() {
    local status=$?
    set +e
    kill -9 "$watchdog" 2>/dev/null   # it ignores TERM, which timeout(1) sends to the whole group
    remove_namespaces
    if [ "$status" -ne 0 ] && [ "$status" -ne 77 ]; then
        for f in "$work"/*.log; do [ -f "$f" ] && { echo "--- $(basename "$f")"; tail -n "${log_tail:-40}" "$f"; }; done
    fi
    # NETNS_KEEP_LOGS=DIR keeps every log and output of the run there.
    [ -z "${NETNS_KEEP_LOGS:-}" ] || { mkdir -p "$NETNS_KEEP_LOGS" && cp "$work"/*.log "$work"/*.out "$NETNS_KEEP_LOGS"/ 2>/dev/null; }
    rm -rf "$work"
    exit "$status"
}

# netns_setup NAME: prerequisites (else exit 77), $work, the cleanup trap and watchdog, and the bridge namespace.
netns_setup() {
    [ "$(id -u)" -eq 0 ] || skip "needs root to create network namespaces"
    command -v ip >/dev/null || skip "iproute2 (ip) is not installed"
    command -v timeout >/dev/null || skip "coreutils timeout is not installed"

    work=$(mktemp -d "/tmp/river-$1.XXXXXX")
    bridge_ns="${prefix}br"
    namespaces=()
    vms=()
    vm_env=()
    local i
    for i in $(seq 1 "$hosts"); do namespaces+=("${prefix}h$i"); done

    # Should this script be SIGKILLed (no trap runs), a watchdog outliving it still removes the namespaces.
    local script_pid=$$
    ( trap '' TERM INT HUP; while kill -0 "$script_pid" 2>/dev/null; do sleep 1; done; remove_namespaces; rm -rf "$work" ) >/dev/null 2>&1 &
    watchdog=$!
    disown
    trap cleanup EXIT
    trap 'exit 1' INT TERM HUP

    # Namespaces may be unavailable even to root (a restricted container): find out before building anything.
    ip netns add "$bridge_ns" 2>/dev/null || skip "ip netns add failed (no network namespace support here)"
    ip netns exec "$bridge_ns" true 2>/dev/null || skip "ip netns exec failed (cannot enter a network namespace here)"
}

# The LAN: a bridge in a namespace of its own (the host's network is never touched), one veth pair per host.
# Every host knows every other's MAC from the start (permanent neighbour entries): the kernel keeps ONE ARP
# table for all namespaces, capped at net.ipv4.neigh.default.gc_thresh3 (1024) learned entries, and 33 hosts
# that all talk to each other need 33 x 32; past the cap a new neighbour fails ("neighbor table overflow!" in
# dmesg) and a connect to it sits in SYN-SENT for minutes. Permanent entries do not count towards the cap.
netns_lan() {
    local i j n
    ip -n "$bridge_ns" link add br0 type bridge
    ip -n "$bridge_ns" link set br0 type bridge mcast_snooping 0   # flood multicast to every port, no IGMP querier needed
    ip -n "$bridge_ns" link set br0 up
    for i in $(seq 1 "$hosts"); do
        n="${prefix}h$i"
        ip netns add "$n"
        ip -n "$bridge_ns" link add "port$i" type veth peer name eth0 netns "$n"
        ip -n "$bridge_ns" link set "port$i" master br0 up
        ip -n "$n" link set lo up
        ip -n "$n" link set eth0 address "$(host_mac "$i")"
        ip -n "$n" addr add "10.77.0.$i/24" dev eth0
        ip -n "$n" link set eth0 up
        ip -n "$n" route add 224.0.0.0/4 dev eth0
    done
    for i in $(seq 1 "$hosts"); do
        for j in $(seq 1 "$hosts"); do
            [ "$i" -eq "$j" ] || echo "neigh replace 10.77.0.$j lladdr $(host_mac "$j") dev eth0 nud permanent"
        done | ip -n "${prefix}h$i" -batch -
    done
    log "namespaces ${namespaces[*]} on bridge br0 in $bridge_ns"
}

# host_mac I: host I's MAC (locally administered).
host_mac() { printf '02:77:00:00:%02x:%02x' $(($1 / 256)) $(($1 % 256)); }

# new_key FILE: a random cluster key.
new_key() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$1"; }

in_host() { local i=$1; shift; ip netns exec "${prefix}h$i" "$@"; }

# river_command CLI: sets the array river_run to the command that runs river: CLI is River.Cli.dll (run by dotnet) or
# an executable (river's self-contained Host build: src/River.Cli/River.Cli.csproj).
river_command() { case "$1" in *.dll) river_run=("$dotnet" "$1") ;; *) river_run=("$1") ;; esac; }

# start_vm I CLI ARGS...: `river vm ARGS` on host I (stdout $work/vmI.out, log $work/vmI.log); its pid is ${vms[I-1]}.
# The array vm_env, when set, holds VAR=value settings for the VM's environment.
start_vm() {
    local i=$1; river_command "$2"; shift 2
    in_host "$i" env "${vm_env[@]}" "${river_run[@]}" vm "$@" > "$work/vm$i.out" 2> "$work/vm$i.log" &
    vms[$((i - 1))]=$!
    disown   # killed with its namespace in cleanup; no job notices
}

# wait_listening I ADDRESS:PORT SECONDS: until VM I says it listens there (exit 1 if it exits or time runs out).
wait_listening() {
    local i=$1 endpoint=$2 deadline=$((SECONDS + $3))
    until grep -qs "listening on $endpoint" "$work/vm$i.out"; do
        [ $SECONDS -lt $deadline ] || { log "FAIL: VM $i did not start within $3 s"; exit 1; }
        kill -0 "${vms[$((i - 1))]}" 2>/dev/null || { log "FAIL: VM $i exited"; exit 1; }
        sleep 0.2
    done
}

# wait_output FILE PATTERN SECONDS PID OUT WHAT: until FILE has a line matching PATTERN; exit 1 (showing the
# program's output OUT) if process PID ends first or time runs out. WHAT names the awaited event in the message.
wait_output() {
    local file=$1 pattern=$2 seconds=$3 pid=$4 out=$5 what=$6
    local deadline=$((SECONDS + seconds))
    until grep -qs "$pattern" "$file"; do
        [ $SECONDS -lt $deadline ] || { log "FAIL: $what not within $seconds s"; exit 1; }
        kill -0 "$pid" 2>/dev/null || { log "FAIL: the program ended before $what"; cat "$out"; exit 1; }
        sleep 0.1
    done
}

# wait_status N SECONDS COMMAND...: runs COMMAND (a `river status --json`) until it lists N VMs; exit 1 past
# SECONDS. The last listing stays in $work/status.json.
wait_status() {
    local want=$1 seconds=$2 found
    shift 2
    local deadline=$((SECONDS + seconds))
    while true; do
        "$@" > "$work/status.json" 2>>"$work/status.log" || true
        found=$(grep -c '"address"' "$work/status.json" || true)
        [ "$found" -eq "$want" ] && return
        [ $SECONDS -lt $deadline ] || { log "FAIL: status lists $found VMs after $seconds s, expected $want"; cat "$work/status.json"; exit 1; }
        sleep 0.5
    done
}

# check_pi OUT WORKERS: the Pi sample's output OUT reports WORKERS workers and an estimate within 0.01 of pi
# (left in $workers and $estimate for the PASS line).
check_pi() {
    local out=$1 want=$2
    cat "$out"
    workers=$(sed -n 's/^samples: [0-9]*, workers: \([0-9]*\)$/\1/p' "$out")
    estimate=$(sed -n 's/^pi = \([0-9.]*\) .*/\1/p' "$out")
    [ "$workers" = "$want" ] || { log "FAIL: Pi ran on ${workers:-?} workers, expected $want"; exit 1; }
    awk -v p="$estimate" 'BEGIN { exit !(p > 3.13159 && p < 3.15159) }' || { log "FAIL: pi = $estimate is not within 0.01 of pi"; exit 1; }
}
