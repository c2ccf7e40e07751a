#!/usr/bin/env bash
# Runs river.sbatch on a real SLURM: Debian's slurm-wlm and munge (installed when absent), a munged, a
# slurmctld and three slurmd daemons ("nodes" n1-n3, one port each, all on this host's loopback), set up
# in a temp folder. It submits Pi with sbatch on all three nodes and checks the answer, that the program
# ran with one worker per VM (the three srun-started VMs and its own), and that each node's VM hosted one.
#
# usage: test.sh [RIVER_CLI_DLL PI_DLL]   (default: build src/River.Cli and samples/Pi, Debug)
# Exit 0: passed; 1: failed; 77: cannot run here (not root, or SLURM absent and not installable; reason on stdout).
# Everything it starts (daemons, the job's processes) is stopped and the temp folder removed on exit, also
# on failure or SIGTERM; nothing outside the temp folder is touched but the installed packages.
# SLURM_TEST_KEEP=DIR copies the configuration and every log there on exit.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dotnet=${DOTNET_HOST_PATH:-dotnet}
nodes=3
samples=400000
bound=180                 # seconds the job may take, VMs' start included

skip() { echo "SKIP: $*"; exit 77; }
log() { echo "$(date +%T.%3N) $*"; }
die() { log "FAIL: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || skip "needs root to run slurmd (it starts tasks as any user)"
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    command -v apt-get >/dev/null || skip "slurm-wlm and munge are not installed and there is no apt-get"
    log "installing slurm-wlm and munge"
    export DEBIAN_FRONTEND=noninteractive
    install=(apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=120 slurm-wlm munge)
    "${install[@]}" >/dev/null || { apt-get update -q >/dev/null && "${install[@]}" >/dev/null; } ||
        skip "apt-get could not install slurm-wlm and munge"
fi

if [ $# -ge 2 ]; then
    cli=$(realpath "$1") pi=$(realpath "$2")
else
    log "building River.Cli and Pi"
    "$dotnet" build -v q --nologo "$root/src/River.Cli" >/dev/null
    "$dotnet" build -v q --nologo "$root/samples/Pi" >/dev/null
    cli=$(ls "$root"/src/River.Cli/bin/Debug/net*/River.Cli.dll | head -n 1)
    pi=$(ls "$root"/samples/Pi/bin/Debug/net*/Pi.dll | head -n 1)
fi

# munged wants every folder above its socket searchable by all; the keys inside stay 0600.
work=$(mktemp -d /tmp/river-slurm.XXXXXX)
chmod 755 "$work"
conf="$work/slurm.conf"
daemons=()
# SLURM's commands read the configuration named here; the job inherits it from sbatch (the daemons take -f).
slurm() { SLURM_CONF="$conf" "$@"; }

# running PID: the process has not ended (a child that ended stays a zombie until waited for; kill -0 succeeds on it).
running() { local state; state=$(ps -o stat= -p "$1" 2>/dev/null) && [ "${state:0:1}" != Z ]; }

# sweep: SIGKILL to whatever is left of this run: the daemons name $work on their command lines, the job's
# processes (VMs, the program) carry our SLURM_CONF, a path no other process has. Builtins only, so that
# no process of the sweep itself mentions $work.
sweep() {
    local p args env
    for p in /proc/[0-9]*; do
        [ "${p#/proc/}" != "$$" ] && [ "${p#/proc/}" != "$BASHPID" ] || continue
        { mapfile -d '' args < "$p/cmdline" && mapfile -d '' env < "$p/environ"; } 2>/dev/null || continue
        if [[ "${args[*]}" == *"$work/"* || " ${env[*]} " == *" SLURM_CONF=$conf "* ]]; then kill -9 "${p#/proc/}" 2>/dev/null; fi
    done
}

# Cancels the job, stops our daemons (SIGTERM to the pids we started), sweeps what is left, removes the folder.
cleanup() {
    local status=$? p
    set +e
    if [ -n "${job:-}" ]; then
        slurm scancel "$job" 2>/dev/null
        for _ in $(seq 20); do [ -z "$(slurm squeue -h -j "$job" 2>/dev/null)" ] && break; sleep 0.5; done
    fi
    for p in "${daemons[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${daemons[@]}"; do
        for _ in $(seq 40); do running "$p" || break; sleep 0.25; done
    done
    sweep
    for p in "${daemons[@]}"; do wait "$p" 2>/dev/null; done
    if [ "$status" -ne 0 ] && [ "$status" -ne 77 ]; then
        for f in "$work"/*.log "$work"/*.out; do [ -f "$f" ] && { echo "--- $(basename "$f")"; tail -n 40 "$f"; }; done
    fi
    [ -z "${SLURM_TEST_KEEP:-}" ] || { mkdir -p "$SLURM_TEST_KEEP" && cp "$work"/*.conf "$work"/*.log "$work"/*.out "$SLURM_TEST_KEEP"/ 2>/dev/null; }
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
# Should this script be SIGKILLed (no trap runs; a test's timeout kills the whole process tree), a watchdog
# outside the tree (its parent exits at once) still sweeps and removes the folder.
script_pid=$$
( ( trap '' TERM INT HUP; while kill -0 "$script_pid" 2>/dev/null; do sleep 1; done; [ ! -d "$work" ] || { sweep; rm -rf "$work"; } ) >/dev/null 2>&1 & )

# A block of free consecutive TCP ports: slurmctld, one per slurmd, and the first River VM's.
count=$((nodes + 2))
for _ in $(seq 50); do
    base=$((20000 + RANDOM % 30000))
    [ -z "$(ss -Htln "sport >= :$base and sport < :$((base + count))")" ] && break
    base=
done
[ -n "$base" ] || die "no $count free consecutive ports found"
ctld_port=$base
first_node_port=$((base + 1))
last_node_port=$((base + nodes))
river_port=$((base + nodes + 1))

mungekey -c -k "$work/munge.key" >/dev/null
munged -F --socket="$work/munge.socket" --key-file="$work/munge.key" --pid-file="$work/munged.pid" \
    --log-file="$work/munged.log" --seed-file="$work/munged.seed" > "$work/munged.out" 2>&1 &
daemons+=($!)
for _ in $(seq 50); do [ -S "$work/munge.socket" ] && break; sleep 0.1; done
[ -S "$work/munge.socket" ] || die "munged did not start"

# No cgroups or accounting: processes are tracked by parentage, and a node's CPUs are what the config says.
cat > "$conf" <<EOF
ClusterName=rivertest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$first_node_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$work/munge.socket
CredType=cred/munge
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool-%n
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd-%n.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/builtin
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
ReturnToService=2
SlurmdParameters=config_overrides
KillWait=5
MailProg=/bin/true
NodeName=n[1-$nodes] NodeHostname=localhost NodeAddr=127.0.0.1 Port=[$first_node_port-$last_node_port] CPUs=1 State=UNKNOWN
PartitionName=river Nodes=n[1-$nodes] Default=YES MaxTime=10 State=UP
EOF
mkdir -p "$work/state"
slurmctld -D -i -f "$conf" > "$work/slurmctld.out" 2>&1 &
daemons+=($!)
for i in $(seq 1 $nodes); do
    mkdir -p "$work/spool-n$i"
    slurmd -D -N "n$i" -f "$conf" > "$work/slurmd-n$i.out" 2>&1 &
    daemons+=($!)
done
deadline=$((SECONDS + 30))
until [ "$(slurm sinfo -h -N -o %T 2>/dev/null | grep -c '^idle')" -eq $nodes ]; do
    [ $SECONDS -lt $deadline ] || die "the $nodes nodes were not idle within 30 s: $(slurm sinfo -N 2>&1)"
    sleep 0.5
done
log "slurmctld on 127.0.0.1:$ctld_port, nodes n1-n$nodes idle (slurmd ports $first_node_port-$last_node_port)"

head -c 32 /dev/urandom | base64 > "$work/cluster.key"
chmod 600 "$work/cluster.key"
started=$SECONDS
job=$(cd "$work" && RIVER="$dotnet $cli" RIVER_KEY_FILE="$work/cluster.key" RIVER_PORT=$river_port RIVER_LOG_DIR="$work" \
    slurm sbatch --parsable -N $nodes --output="$work/job-%j.out" --time=5 "$root/deploy/slurm/river.sbatch" "$pi" --samples $samples)
log "submitted job $job"
deadline=$((SECONDS + bound))
while [ -n "$(slurm squeue -h -j "$job" 2>/dev/null)" ]; do
    [ $SECONDS -lt $deadline ] || die "job $job did not end within $bound s"
    sleep 0.5
done
out="$work/job-$job.out"
log "job $job ended after $((SECONDS - started)) s:"
cat "$out"

grep -q "the program exited with 0" "$out" || die "the program did not exit with 0"
# Pi prints "samples: N, workers: W" and "pi = X (error E)": one worker per VM, the program's own included.
grep -q "workers: $((nodes + 1))\$" "$out" || die "expected $((nodes + 1)) workers"
estimate=$(sed -n 's/^pi = \([0-9.]*\) .*/\1/p' "$out")
awk -v p="$estimate" 'BEGIN { exit !(p > 3.13 && p < 3.15) }' || die "pi = '$estimate' is not within 0.01 of pi"
for i in $(seq 1 $nodes); do
    vm_log="$work/river-vm-$job-n$i.log"
    [ -f "$vm_log" ] || die "no VM log for node n$i"
    grep -q "listening on 127.0.0.1:" "$vm_log" || die "the VM of n$i did not start"
    grep -q "Deployed Pi as" "$vm_log" || die "the VM of n$i hosted no Pi worker"
done
grep -q "listening on 127.0.0.1:$river_port " "$work/river-vm-$job-n1.log" || die "n1's VM is not the seed on port $river_port"
log "PASS: sbatch ran Pi on $nodes SLURM nodes' VMs (one srun task each) and pi = $estimate"
