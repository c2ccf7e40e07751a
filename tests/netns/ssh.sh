#!/usr/bin/env bash
# `river up` / `river down` over real ssh: hosts h1 and h2 (network namespaces on one bridge) each run Debian's
# sshd on their own address with a host key made here, taking root's logins with a key made here; h3 is the
# operator's machine. From h3, `river up --hosts` starts a VM on h1 and h2 through ssh (known_hosts checked,
# BatchMode), `river status` must list both, Pi run from h3 must use both, and `river down` must stop them
# with SIGTERM: their processes end and their pid files go.
#
# usage: ssh.sh RIVER_CLI_DLL PI_DLL [NAME_PREFIX]
# Exit 0: passed; 1: failed; 77: cannot run here (not root, no iproute2, no namespaces, no openssh-server
# that apt-get can install; reason on stdout). Everything it creates is removed on exit (see lib.sh).
set -euo pipefail

cli=${1:?usage: ssh.sh RIVER_CLI_DLL PI_DLL [NAME_PREFIX]}
pi=${2:?usage: ssh.sh RIVER_CLI_DLL PI_DLL [NAME_PREFIX]}
prefix=${3:-rs$$}
hosts=3          # h1, h2: VM hosts with sshd; h3: where river up runs
vm_hosts=2
bound=30         # seconds for each wait below
cluster=ssh-test

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
if [ ! -x /usr/sbin/sshd ] || ! command -v ssh-keygen >/dev/null; then
    [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null || skip "openssh-server is not installed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=120 openssh-server openssh-client >/dev/null ||
        skip "apt-get could not install openssh-server"
fi
netns_setup ssh
netns_lan
# Absolute paths: sshd's sessions have a PATH of their own and start in the run folder.
dotnet=$(readlink -f "$(command -v "$dotnet")")
cli=$(readlink -f "$cli")
operator=$hosts

# The keys: a host key per sshd, known to the operator through a known_hosts file; one login key for root.
ssh-keygen -q -t ed25519 -N '' -f "$work/id" -C river-test
cp "$work/id.pub" "$work/authorized_keys"
: > "$work/known_hosts"
mkdir -p /run/sshd   # sshd's privilege separation folder
for i in $(seq 1 $vm_hosts); do
    ssh-keygen -q -t ed25519 -N '' -f "$work/host$i" -C "h$i"
    echo "10.77.0.$i $(cut -d' ' -f1-2 "$work/host$i.pub")" >> "$work/known_hosts"
    cat > "$work/sshd$i.conf" <<CONF
ListenAddress 10.77.0.$i:22
HostKey $work/host$i
AuthorizedKeysFile $work/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile $work/sshd$i.pid
CONF
    in_host "$i" /usr/sbin/sshd -D -f "$work/sshd$i.conf" -E "$work/sshd$i.log" &
    disown
done
for i in $(seq 1 $vm_hosts); do
    deadline=$((SECONDS + bound))
    until grep -qs "Server listening on 10.77.0.$i port 22" "$work/sshd$i.log"; do
        [ $SECONDS -lt $deadline ] || { log "FAIL: sshd on h$i did not listen within $bound s"; exit 1; }
        sleep 0.1
    done
done
log "sshd listening on 10.77.0.1-$vm_hosts:22"

key="$work/cluster.key"
new_key "$key"
for i in $(seq 1 $vm_hosts); do echo "root@10.77.0.$i --attr ssh-host=h$i --no-multicast"; done > "$work/hosts.txt"
river() { in_host $operator timeout 90 "$dotnet" "$cli" "$@"; }
ssh_args=(--hosts "$work/hosts.txt" -i "$work/id" --known-hosts "$work/known_hosts" --run-dir "$work/run")

river up "${ssh_args[@]}" --cluster $cluster --key-file "$key" --river "$dotnet $cli" > "$work/up.out" 2> "$work/up.log" ||
    { log "FAIL: river up exited with $?"; cat "$work/up.out" "$work/up.log"; exit 1; }
cat "$work/up.out"
for i in $(seq 1 $vm_hosts); do
    grep -q "^root@10.77.0.$i: pid [0-9]*: River VM .* listening on 10.77.0.$i:7700 in cluster '$cluster'" "$work/up.out" ||
        { log "FAIL: river up did not report the VM on h$i"; exit 1; }
    [ -f "$work/run/vm-10.77.0.$i-7700.pid" ] || { log "FAIL: no pid file for the VM on h$i"; exit 1; }
    vms[$((i - 1))]=$(cat "$work/run/vm-10.77.0.$i-7700.pid")
    # The VM runs in h$i's namespace, started by its sshd.
    ip netns pids "${prefix}h$i" | grep -qx "${vms[$((i - 1))]}" || { log "FAIL: pid ${vms[$((i - 1))]} is not in h$i"; exit 1; }
done

# A second `river up` must refuse: the VMs run already.
if river up "${ssh_args[@]}" --cluster $cluster --key-file "$key" --river "$dotnet $cli" > "$work/up2.out" 2>&1; then
    log "FAIL: a second river up succeeded"; cat "$work/up2.out"; exit 1
fi
grep -q "runs already" "$work/up2.out" || { log "FAIL: the second river up did not say why it failed"; cat "$work/up2.out"; exit 1; }

# One cluster: status through the first host lists both VMs with their attribute.
wait_status $vm_hosts $bound river status --json --seeds 10.77.0.1:7700 --cluster $cluster --key-file "$key"
for i in $(seq 1 $vm_hosts); do
    grep -q "\"ssh-host\": \"h$i\"" "$work/status.json" || { log "FAIL: status has no VM with ssh-host=h$i"; cat "$work/status.json"; exit 1; }
done
log "status lists $vm_hosts VMs started over ssh"

in_host $operator env RIVER_SEEDS=10.77.0.1:7700 RIVER_CLUSTER=$cluster RIVER_KEY_FILE="$key" RIVER_BIND=10.77.0.$operator \
    timeout 60 "$dotnet" "$pi" --samples 200000 > "$work/pi.out" 2> "$work/pi.log" || { log "FAIL: Pi exited with $?"; cat "$work/pi.out"; exit 1; }
check_pi "$work/pi.out" $((vm_hosts + 1))
for i in $(seq 1 $vm_hosts); do
    grep -q "Deployed Pi as" "$work/run/vm-10.77.0.$i-7700.log" || { log "FAIL: the VM on h$i hosted no Pi worker"; exit 1; }
done

river down "${ssh_args[@]}" > "$work/down.out" 2> "$work/down.log" || { log "FAIL: river down exited with $?"; cat "$work/down.out" "$work/down.log"; exit 1; }
cat "$work/down.out"
for i in $(seq 1 $vm_hosts); do
    pid=${vms[$((i - 1))]}
    ! kill -0 "$pid" 2>/dev/null || { log "FAIL: the VM on h$i (pid $pid) still runs after river down"; exit 1; }
    grep -q "^root@10.77.0.$i: stopped the VM on 10.77.0.$i:7700 (pid $pid)" "$work/down.out" || { log "FAIL: river down did not report h$i"; exit 1; }
    grep -q "River VM .* stopping" "$work/run/vm-10.77.0.$i-7700.out" || { log "FAIL: the VM on h$i did not stop on SIGTERM"; exit 1; }
    [ ! -e "$work/run/vm-10.77.0.$i-7700.pid" ] || { log "FAIL: the pid file of h$i is still there"; exit 1; }
done
log "PASS: river up started $vm_hosts VMs over ssh, Pi ran on $workers workers: $estimate, river down stopped them"
