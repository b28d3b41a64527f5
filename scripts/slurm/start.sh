#!/usr/bin/env bash
# Start a single-node SLURM on this machine: writes /etc/slurm/slurm.conf for
# the node's real CPUs and memory and /etc/slurm/gres.conf for its count-only
# GPUs, starts munged, slurmctld and slurmd (as root, in the background) and
# waits until the node is idle.
#
# The node declares DED_SLURM_GPUS stand-in GPUs (default 2): device files
# that are /dev/null underneath, since SLURM 22.05 drops GPUs without a File.
# Jobs ask for them with --gpus and SLURM schedules them as on a GPU cluster
# (SLURM_GPUS_ON_NODE, CUDA_VISIBLE_DEVICES), so the SLURM profile's GPU
# requests are exercised on a machine without GPUs; a task prolog tells each
# job so (DED_STAND_IN_GPUS=1), and training then runs on the CPU (ded/gpus.py).
#
# Idempotent: with SLURM already answering, the node usable and this
# configuration in place, it does nothing; a SLURM it started with another
# configuration is restarted. It never overwrites a slurm.conf or gres.conf it
# did not write itself.
#
# Environment: DED_SLURM_PARTITION (default: local), DED_SLURM_WAIT
# (seconds to wait for the node, default 60), DED_SLURM_GPUS (default 2).
set -euo pipefail

CONF=/etc/slurm/slurm.conf
GRES_CONF=/etc/slurm/gres.conf
TASK_PROLOG=/etc/slurm/ded-task-prolog.sh
GPU_DIR=/run/ded-slurm-gpus
GPUS=${DED_SLURM_GPUS:-2}
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

case "$GPUS" in
    '' | *[!0-9]*) die "DED_SLURM_GPUS must be a whole number, not '$GPUS'" ;;
esac
ours() { [ ! -e "$1" ] || grep -qxF "$MARKER" "$1"; }

render_conf() {
    # slurmd -C reports what slurmd itself will detect, so the node is never
    # rejected for claiming more CPUs or memory than it has.
    local node host gres=""
    node=$(slurmd -C | head -n1)
    host=$(hostname -s)
    case "$node" in
        NodeName=*) ;;
        *) die "unexpected output of slurmd -C: $node" ;;
    esac
    [ "$GPUS" -gt 0 ] && gres=" Gres=gpu:$GPUS"
    cat <<CONF
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
# Stand-in GPUs (gres.conf), announced to each job by the task prolog.
GresTypes=gpu
TaskProlog=$TASK_PROLOG
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
$node$gres NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=$PARTITION Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
}

render_gres() {
    echo "$MARKER"
    [ "$GPUS" -gt 0 ] && echo "NodeName=$(hostname -s) Name=gpu File=$GPU_DIR/gpu[0-$((GPUS - 1))]"
    return 0
}

render_task_prolog() {
    printf '%s\n' "#!/bin/sh" "$MARKER" "# This node's GPUs are stand-ins (/dev/null); see docs/cluster.md." \
        "echo export DED_STAND_IN_GPUS=1"
}

make_stand_in_gpus() {
    # Character devices when the machine allows mknod (what SLURM expects), plain files otherwise (SLURM
    # logs that they are no devices and counts them all the same).
    mkdir -p "$GPU_DIR"
    local i
    for ((i = 0; i < GPUS; i++)); do
        [ -e "$GPU_DIR/gpu$i" ] || mknod "$GPU_DIR/gpu$i" c 1 3 2>/dev/null || : >"$GPU_DIR/gpu$i"
    done
}

command -v slurmd >/dev/null 2>&1 || die "slurmd not found; run scripts/slurm/install.sh first"
ours "$CONF" || die "$CONF exists and was not written by this script; not touching it"
ours "$GRES_CONF" || die "$GRES_CONF exists and was not written by this script; not touching it"
ours "$TASK_PROLOG" || die "$TASK_PROLOG exists and was not written by this script; not touching it"
CONF_CHANGED=0
NEW_CONF=$(render_conf)
NEW_GRES=$(render_gres)
NEW_PROLOG=$(render_task_prolog)
if [ "$NEW_CONF" != "$(cat "$CONF" 2>/dev/null)" ] || [ "$NEW_GRES" != "$(cat "$GRES_CONF" 2>/dev/null)" ] ||
    [ "$NEW_PROLOG" != "$(cat "$TASK_PROLOG" 2>/dev/null)" ]; then
    CONF_CHANGED=1
fi

if usable && [ "$CONF_CHANGED" = 0 ]; then
    log "SLURM is up (node $(node_state)); nothing to do"
    exit 0
fi

[ "$(id -u)" = 0 ] || die "starting SLURM needs root"
for cmd in munged slurmctld slurmd sinfo scontrol; do
    command -v "$cmd" >/dev/null 2>&1 || die "$cmd not found; run scripts/slurm/install.sh first"
done

alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

if [ "$CONF_CHANGED" = 1 ]; then
    # A node's GRES change needs both daemons restarted, not a reconfigure.
    if alive /run/slurmctld.pid || alive /run/slurmd.pid; then
        log "configuration changed: restarting SLURM"
        bash "$(dirname "$0")/stop.sh"
    fi
    mkdir -p "$(dirname "$CONF")"
    printf '%s\n' "$NEW_CONF" >"$CONF.tmp" && mv "$CONF.tmp" "$CONF"
    printf '%s\n' "$NEW_GRES" >"$GRES_CONF.tmp" && mv "$GRES_CONF.tmp" "$GRES_CONF"
    printf '%s\n' "$NEW_PROLOG" >"$TASK_PROLOG.tmp" && chmod 755 "$TASK_PROLOG.tmp" && mv "$TASK_PROLOG.tmp" "$TASK_PROLOG"
fi
make_stand_in_gpus
mkdir -p "$STATE" "$SPOOL" "$LOGDIR"

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
