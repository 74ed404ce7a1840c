#!/usr/bin/env bash
# A real one-node SLURM cluster on localhost, and the smoke config run through it.
#
#   tests/slurm/run_local_slurm.sh WORKDIR [REFERENCE]
#
# Installs Debian's slurmctld, slurmd and munge (root + apt-get; engineering-notes §4.2), starts
# them without systemd on a slurm.conf in WORKDIR (linked from /etc/slurm, where srun inside
# jobs looks: SLURM_CONF is not passed to job steps; a previous file is restored), runs
# tests/configs/smoke.yaml through `--profile profiles/slurm` in WORKDIR/slurm and, unless
# REFERENCE (a finished local smoke run's directory) is given, locally in WORKDIR/local, and
# stops the daemons it started. tests/test_slurm.py checks the results.
# Exit status 77: a SLURM controller is already running here (not ours to reconfigure).
# Exit status 78: SLURM is not installed and apt-get could not install it.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mkdir -p "${1:?usage: $0 WORKDIR}" && cd "$1" && pwd)
PY=${PYTHON:-$ROOT/.venv/bin/python}
export PATH="$(dirname "$PY"):$PATH" DEBIAN_FRONTEND=noninteractive
REFERENCE=${2:-}
SMOKE=$ROOT/tests/configs/smoke.yaml
STARTED=()  # pid files of the daemons this script started, stopped on exit

ETC=/etc/slurm/slurm.conf
stop() {
  for pidfile in "${STARTED[@]}"; do
    [ -s "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
    sleep 1
  done
  if [ -L "$ETC" ]; then rm -f "$ETC"; fi
  if [ -e "$ETC.p2law-saved" ]; then mv "$ETC.p2law-saved" "$ETC"; fi
}
trap stop EXIT

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  pkgs=(slurmctld slurmd slurm-client munge)
  apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null 2>&1 \
    || { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null; } \
    || { echo "apt-get could not install ${pkgs[*]}" >&2; exit 78; }
fi
if (exec 3<>/dev/tcp/127.0.0.1/6817) 2>/dev/null; then  # SlurmctldPort
  echo "a slurmctld is already listening on port 6817: not touching it" >&2; exit 77
fi

# munge authenticates slurmctld <-> slurmd; reuse a running munged, else start one.
if ! { [ -s /run/munge/munged.pid ] && kill -0 "$(cat /run/munge/munged.pid)" 2>/dev/null; }; then
  install -d -o munge -g munge -m 0755 /run/munge
  runuser -u munge -- /usr/sbin/munged
  STARTED+=(/run/munge/munged.pid)
fi

NODE=$(hostname -s); CPUS=$(nproc); MEM=$(( $(free -m | awk '/^Mem:/{print $2}') * 85 / 100 ))
CLUSTER=$WORK/cluster; rm -rf "$CLUSTER"; mkdir -p "$CLUSTER"/{state,spool,log}
export SLURM_CONF=$CLUSTER/slurm.conf
mkdir -p /etc/slurm
if [ -e "$ETC" ] && [ ! -L "$ETC" ]; then mv "$ETC" "$ETC.p2law-saved"; fi
ln -sfn "$SLURM_CONF" "$ETC"
# MinJobAge 300 >= 3 x slurm-init-seconds-before-status-checks (5 in profiles/slurm): squeue
# still lists finished jobs when Snakemake polls, so no accounting database is needed.
cat > "$SLURM_CONF" <<CONF
ClusterName=p2lawtest
SlurmctldHost=${NODE}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
# A DAG of short jobs on one node: try pending jobs every few seconds, not every 30-60 s.
SchedulerParameters=bf_interval=2,sched_interval=5
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MinJobAge=300
StateSaveLocation=$CLUSTER/state
SlurmdSpoolDir=$CLUSTER/spool
SlurmctldPidFile=$CLUSTER/slurmctld.pid
SlurmdPidFile=$CLUSTER/slurmd.pid
SlurmctldLogFile=$CLUSTER/log/slurmctld.log
SlurmdLogFile=$CLUSTER/log/slurmd.log
NodeName=${NODE} NodeAddr=127.0.0.1 CPUs=${CPUS} RealMemory=${MEM} State=UNKNOWN
PartitionName=debug Nodes=${NODE} Default=YES MaxTime=INFINITE State=UP
CONF
/usr/sbin/slurmctld -c -f "$SLURM_CONF"; STARTED=("$CLUSTER/slurmctld.pid" "${STARTED[@]}")
/usr/sbin/slurmd -f "$SLURM_CONF"; STARTED=("$CLUSTER/slurmd.pid" "${STARTED[@]}")
for _ in $(seq 1 60); do sinfo -h -o %T 2>/dev/null | grep -q idle && break; sleep 1; done
sinfo -h -o %T | grep -q idle || { echo "node never became idle" >&2; exit 1; }
start=$(date +%s)

# Reference: the same config run locally (brought up to date if WORKDIR/local exists) unless
# given, then the SLURM run from scratch. One after the other: the same run ids would
# otherwise share DeepSpeed rendezvous ports. The test polls squeue every 2 s (the profile's
# 10 s suit a real cluster's controller, not a smoke DAG of short jobs).
cd "$ROOT"
rm -rf "$WORK/slurm"
if [ -z "$REFERENCE" ]; then
  "$PY" -m snakemake --cores 2 --configfile "$SMOKE" --directory "$WORK/local" > "$WORK/local.log" 2>&1
fi
"$PY" -m snakemake --profile profiles/slurm --configfile "$SMOKE" --directory "$WORK/slurm" \
  --seconds-between-status-checks 2 > "$WORK/slurm.log" 2>&1
what="SLURM run"; [ -n "$REFERENCE" ] || what="local + SLURM runs"
echo "$what: $(( $(date +%s) - start )) s" | tee "$WORK/timing.txt"
