#!/usr/bin/env bash
# What deploy/k8s relies on, without Kubernetes: three "pods" (network namespaces h1-h3 on one bridge) run
# `river vm` with the environment of deploy/k8s/statefulset.yaml, and a fourth (h4) runs a real DNS server,
# dnsmasq, as the cluster DNS: it answers the headless Service's name, river-vm.river.svc.cluster.local,
# with the three pods' addresses. Every namespace resolves through it with a kubelet-style resolv.conf
# (search river.svc.cluster.local ..., ndots:5), so the manifests' short name river-vm:7700 works as is.
# The VMs must form one cluster through that name alone (no multicast), and Pi, run on h4 with the
# environment of deploy/k8s/job.yaml, must find them the same way and run a worker on each.
#
# usage: k8s-dns.sh RIVER_CLI_DLL PI_DLL [NAME_PREFIX]
# Exit 0: passed; 1: failed; 77: cannot run here (not root, no iproute2, no namespaces, no dnsmasq that
# apt-get can install; reason on stdout). Everything it creates is removed on exit (see lib.sh), also
# /etc/netns/NAME/resolv.conf of its namespaces.
set -euo pipefail

cli=${1:?usage: k8s-dns.sh RIVER_CLI_DLL PI_DLL [NAME_PREFIX]}
pi=${2:?usage: k8s-dns.sh RIVER_CLI_DLL PI_DLL [NAME_PREFIX]}
prefix=${3:-rk$$}
hosts=4                   # h1-h3: VM pods; h4: the DNS server and the Job
pods=3
namespace=river           # the Kubernetes namespace the manifests are applied in
bound=30                  # seconds for each wait below
manifests="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../deploy/k8s" && pwd)"

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
if ! command -v dnsmasq >/dev/null; then
    [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null || skip "dnsmasq is not installed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=120 dnsmasq-base >/dev/null ||
        skip "apt-get could not install dnsmasq-base"
fi
netns_setup k8s-dns
netns_lan

# manifest_env FILE: the container's env entries with a literal value, as NAME=VALUE lines (quotes dropped).
manifest_env() {
    awk '/^ *- name: / { name = $3; next }
         /^ *value: / && name != "" { v = $0; sub(/^ *value: */, "", v); gsub(/"/, "", v); print name "=" v }
         { name = "" }' "$manifests/$1"
}

# The cluster DNS: the headless Service's name has every pod's address, each pod its own name too.
dns=10.77.0.$hosts
service=$(awk '/^  name: / { print $2; exit }' "$manifests/service.yaml")
domain="$namespace.svc.cluster.local"
: > "$work/hosts"
for i in $(seq 1 $pods); do
    echo "10.77.0.$i $service.$domain $service-$((i - 1)).$service.$domain" >> "$work/hosts"
done
in_host $hosts dnsmasq --keep-in-foreground --no-resolv --no-hosts --addn-hosts="$work/hosts" --listen-address="$dns" \
    --bind-interfaces --user=root --pid-file="$work/dnsmasq.pid" --log-queries --log-facility="$work/dnsmasq.log" &
disown
for n in "${namespaces[@]}"; do
    mkdir -p "/etc/netns/$n"
    printf 'nameserver %s\nsearch %s svc.cluster.local cluster.local\noptions ndots:5\n' "$dns" "$domain" > "/etc/netns/$n/resolv.conf"
done
deadline=$((SECONDS + bound))
until [ "$(in_host 1 getent ahostsv4 "$service" | awk '$2 == "STREAM"' | wc -l)" -eq $pods ]; do
    [ $SECONDS -lt $deadline ] || { log "FAIL: $service does not resolve to $pods addresses through dnsmasq"; exit 1; }
    sleep 0.2
done
log "dnsmasq on $dns: $service -> $(in_host 1 getent ahostsv4 "$service" | awk '$2 == "STREAM" { printf "%s ", $1 }')"

key="$work/cluster.key"
new_key "$key"
# Each pod's environment: the StatefulSet's literal values, the key file where the test has it, the pod's
# address for status.podIP, its name for $(POD_NAME).
mapfile -t vm_literal < <(manifest_env statefulset.yaml | grep -v '^RIVER_KEY_FILE=')
for i in $(seq 1 $pods); do
    pod="$service-$((i - 1))"
    vm_env=("${vm_literal[@]//\$(POD_NAME)/$pod}" RIVER_KEY_FILE="$key" RIVER_BIND="10.77.0.$i")
    start_vm "$i" "$cli"
done
port=$(manifest_env statefulset.yaml | sed -n 's/^RIVER_PORT=//p')
cluster=$(manifest_env statefulset.yaml | sed -n 's/^RIVER_CLUSTER=//p')
for i in $(seq 1 $pods); do wait_listening "$i" "10.77.0.$i:$port" $bound; done
log "VMs listening on 10.77.0.1-$pods:$port with the StatefulSet's environment: ${vm_literal[*]}"

# The three must be one cluster: status through the Service's name lists each, with its pod attribute.
wait_status $pods $bound in_host $hosts timeout 15 "$dotnet" "$cli" status --json --seeds "$service:$port" --cluster "$cluster" --key-file "$key"
for i in $(seq 1 $pods); do
    grep -q "\"pod\": \"$service-$((i - 1))\"" "$work/status.json" || { log "FAIL: no VM with pod=$service-$((i - 1))"; cat "$work/status.json"; exit 1; }
done
log "status through $service:$port lists $pods VMs, pods $service-0..$((pods - 1))"

# The Job: Pi on h4 with job.yaml's environment; it joins through the Service's name and deploys on every VM.
mapfile -t job_literal < <(manifest_env job.yaml | grep -v '^RIVER_KEY_FILE=')
in_host $hosts env "${job_literal[@]}" RIVER_KEY_FILE="$key" RIVER_BIND="$dns" timeout 60 "$dotnet" "$pi" --samples 200000 \
    > "$work/pi.out" 2> "$work/pi.log" || { log "FAIL: Pi exited with $?"; cat "$work/pi.out"; exit 1; }
check_pi "$work/pi.out" $((pods + 1))
for i in $(seq 1 $pods); do
    grep -q "Deployed Pi as" "$work/vm$i.log" || { log "FAIL: the VM of pod $service-$((i - 1)) hosted no Pi worker"; exit 1; }
done
grep -q "query\[A\] $service.$domain" "$work/dnsmasq.log" || { log "FAIL: dnsmasq was never asked for $service.$domain"; exit 1; }
log "PASS: 3 VM pods formed a cluster through the DNS name $service; Pi on $workers workers: $estimate"
