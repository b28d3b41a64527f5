#!/usr/bin/env bash
# Start a single-node SLURM on this machine: writes /etc/slurm/slurm.conf for
# the node's real CPUs and memory, starts munged, slurmctld and slurmd (as
# root, in the background) and waits until the node is idle.
#
# Idempotent: with SLURM already answering and the node usable, it does
# nothing. It never overwrites a slurm.conf it did not write itself.
#
# Environment: DED_SLURM_PARTITION (default: local), DED_SLURM_WAIT
# (seconds to wait for the node, default 60).
set -euo pipefail

CONF=/etc/slurm/slurm.conf
MARKER="# Written by scripts/slurm/start.sh of the DED workflow."
PARTITION=${DED_SLURM_PARTITION:-local}
WAIT=${DED_SLURM_WAIT:-60}
STATE=/var/spool/slurmctld
SPOOL=/var/spool/slurmd
LOGDIR=/var/log/slurm

log() { echo "start.sh: $*"; }
die() { echo "start.sh: $*" >&2; exit 1; }

node_state() {
    # Compact state of the first node ("idle", "mix", "down*", ...); empty
    # when the controller does not answer.
    # `|| true`: a controller that does not answer yet must not end the
    # script through errexit/pipefail.
    { timeout 10 sinfo -h -N -o '%t' 2>/dev/null || true; } | head -n1
}

usable() {
    case "$(node_state)" in
        idle | mix | alloc | comp) return 0 ;;
        *) return 1 ;;
    esac
}

if usable; then
    log "SLURM is up (node $(node_state)); nothing to do"
    exit 0
fi

[ "$(id -u)" = 0 ] || die "starting SLURM needs root"
for cmd in munged slurmctld slurmd sinfo scontrol; do
    command -v "$cmd" >/dev/null 2>&1 || die "$cmd not found; run scripts/slurm/install.sh first"
done

write_conf() {
    # slurmd -C reports what slurmd itself will detect, so the node is never
    # rejected for claiming more CPUs or memory than it has.
    local node host
    node=$(slurmd -C | head -n1)
    host=$(hostname -s)
    case "$node" in
        NodeName=*) ;;
        *) die "unexpected output of slurmd -C: $node" ;;
    esac
    mkdir -p "$(dirname "$CONF")"
    cat >"$CONF.tmp" <<CONF
$MARKER
# A single-node cluster for tests; see docs/cluster.md.
ClusterName=ded
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
ReturnToService=2
# Accounting off: no slurmdbd, so job states come from squeue, which keeps
# finished jobs for MinJobAge seconds (the executor plugin wants at least
# 3x its first status-check delay).
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MinJobAge=600
# Kill a job soon after its time limit or scancel.
KillWait=5
OverTimeLimit=0
InactiveLimit=0
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$STATE
SlurmdSpoolDir=$SPOOL
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$LOGDIR/slurmctld.log
SlurmdLogFile=$LOGDIR/slurmd.log
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=$PARTITION Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
    if cmp -s "$CONF.tmp" "$CONF"; then
        rm -f "$CONF.tmp"
    else
        mv "$CONF.tmp" "$CONF"
        CONF_CHANGED=1
    fi
}
CONF_CHANGED=0

if [ -e "$CONF" ] && ! grep -qxF "$MARKER" "$CONF"; then
    die "$CONF exists and was not written by this script; not touching it"
fi
write_conf
mkdir -p "$STATE" "$SPOOL" "$LOGDIR"

alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# munge: a key readable only by the munge user, then the daemon as that user.
MUNGE_KEY=/etc/munge/munge.key
if [ ! -s "$MUNGE_KEY" ]; then
    log "creating $MUNGE_KEY"
    mkdir -p /etc/munge
    dd if=/dev/urandom of="$MUNGE_KEY" bs=1 count=1024 status=none
fi
chown munge:munge /etc/munge "$MUNGE_KEY"
chmod 700 /etc/munge
chmod 400 "$MUNGE_KEY"
mkdir -p /run/munge /var/lib/munge /var/log/munge
chown munge:munge /run/munge /var/lib/munge /var/log/munge
chmod 755 /run/munge
if ! alive /run/munge/munged.pid; then
    log "starting munged"
    runuser -u munge -- munged </dev/null >/dev/null 2>&1
fi

# The daemons fork into the background themselves; their output goes to the
# log files named in slurm.conf.
if ! alive /run/slurmctld.pid; then
    log "starting slurmctld"
    slurmctld </dev/null >/dev/null 2>&1
elif [ "$CONF_CHANGED" = 1 ]; then
    log "slurm.conf changed: reconfiguring the running slurmctld"
    scontrol reconfigure || true
fi
if ! alive /run/slurmd.pid; then
    log "starting slurmd"
    slurmd </dev/null >/dev/null 2>&1
fi

host=$(hostname -s)
deadline=$((SECONDS + WAIT))
while ! usable; do
    state=$(node_state)
    case "$state" in
        # A node restarted from saved state can come back down or drained.
        down* | drain* | fail*)
            scontrol update NodeName="$host" State=RESUME >/dev/null 2>&1 || true ;;
    esac
    if [ "$SECONDS" -ge "$deadline" ]; then
        echo "start.sh: node not idle after ${WAIT}s (state: '${state:-no answer}')" >&2
        tail -n 20 "$LOGDIR/slurmctld.log" "$LOGDIR/slurmd.log" >&2 || true
        exit 1
    fi
    sleep 1
done
log "SLURM is up: $(sinfo -h -o '%P %a %D %t %c CPUs %m MB')"
