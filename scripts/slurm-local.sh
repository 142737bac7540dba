#!/usr/bin/env bash
# A single-node SLURM (Debian's slurm-wlm 22.05) on this machine, for tests and trials:
# no systemd, no cgroups, no accounting database; every file it writes is in STATE_DIR.
#
#   bash scripts/slurm-local.sh start STATE_DIR   # munged, slurmctld, slurmd; waits for an idle node
#   export SLURM_CONF=STATE_DIR/slurm.conf         # what every client (sbatch, squeue, ...) needs
#   bash scripts/slurm-local.sh stop STATE_DIR    # cancels its jobs, stops the daemons it started
#
# The daemons are stopped by the PIDs recorded at start (STATE_DIR/pids), never by name, so
# several instances (other users, other checkouts) can run side by side on their own ports.
set -euo pipefail

usage() {
  echo "usage: $0 start|stop STATE_DIR" >&2
  exit 1
}
[ $# -eq 2 ] || usage
action=$1
state=$2

fail() {
  echo "slurm-local: $*" >&2
  exit 1
}

require_tools() {
  local tool missing=()
  for tool in munged mungekey slurmctld slurmd sinfo sbatch scontrol python3; do
    command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || missing+=("$tool")
  done
  [ ${#missing[@]} -eq 0 ] || fail "missing ${missing[*]} (Debian: apt-get install slurm-wlm munge)"
}

# A TCP port nobody listens on now (the kernel picks it).
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

write_slurm_conf() {
  local user node cpus memory_mb
  user=$(id -un)
  node=$(hostname -s)
  cpus=$(nproc)
  # Leave a tenth of the memory to the system: jobs asking for more are refused, not run.
  memory_mb=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)
  cat > "$state/slurm.conf" <<EOF
ClusterName=apical-local
SlurmctldHost=$node(127.0.0.1)
SlurmUser=$user
SlurmdUser=$user
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$state/munge/munge.socket
StateSaveLocation=$state/slurmctld
SlurmdSpoolDir=$state/slurmd
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
MpiDefault=none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
MinJobAge=300
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory_mb State=UNKNOWN
PartitionName=local Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
}

start_munge() {
  mkdir -p "$state/munge"
  # Clients of other users reach the socket through this folder; the key itself stays 0600.
  chmod 755 "$state/munge"
  mungekey --create --keyfile="$state/munge/munge.key" >/dev/null
  munged --foreground --force --socket="$state/munge/munge.socket" --key-file="$state/munge/munge.key" \
    --pid-file="$state/munge/munged.pid" --log-file="$state/log/munged.log" \
    --seed-file="$state/munge/munged.seed" >> "$state/log/munged.out" 2>&1 &
  echo "$!" >> "$state/pids"
  local i
  for i in $(seq 100); do
    [ -S "$state/munge/munge.socket" ] && return 0
    sleep 0.05
  done
  fail "munged did not open its socket (see $state/log/munged.log)"
}

wait_for_idle_node() {
  local i node_state=""
  for i in $(seq 300); do
    node_state=$(sinfo -h -o %T 2>/dev/null | head -n1 || true)
    [ "$node_state" = idle ] && return 0
    sleep 0.1
  done
  fail "the node is not idle after 30 s (state '${node_state}'; see $state/log/)"
}

start() {
  require_tools
  [ ! -e "$state/pids" ] || fail "$state/pids exists: an instance may be running there (stop it first)"
  mkdir -p "$state/log" "$state/slurmctld" "$state/slurmd"
  : > "$state/pids"
  write_slurm_conf
  export SLURM_CONF="$state/slurm.conf"
  start_munge
  slurmctld -D -i -f "$SLURM_CONF" >> "$state/log/slurmctld.out" 2>&1 &
  echo "$!" >> "$state/pids"
  slurmd -D -f "$SLURM_CONF" -N "$(hostname -s)" >> "$state/log/slurmd.out" 2>&1 &
  echo "$!" >> "$state/pids"
  wait_for_idle_node
  echo "slurm-local: node $(hostname -s) idle; export SLURM_CONF=$SLURM_CONF"
}

# Stops each recorded PID: TERM, then KILL after 10 s if it is still there.
stop() {
  [ -f "$state/pids" ] || fail "no $state/pids: nothing was started there"
  export SLURM_CONF="$state/slurm.conf"
  squeue -h -o %i 2>/dev/null | xargs -r scancel 2>/dev/null || true
  local pid i
  # Newest first: slurmd, slurmctld, then munged (they authenticate through it until the end).
  for pid in $(tac "$state/pids"); do
    kill -TERM "$pid" 2>/dev/null || continue
    for i in $(seq 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -f "$state/pids"
  echo "slurm-local: stopped"
}

case "$action" in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac
