#!/usr/bin/env bash
# Stop the single-node SLURM that start.sh started: slurmd, slurmctld and
# munged, each by the pid in its pid file. Leaves the installed packages and
# /etc/slurm/slurm.conf in place (start.sh rewrites it), with one line added:
# MessageTimeout=1, so that a SLURM client asking the stopped controller fails
# at once. Without it each one retries for the default 10 s, and Snakemake's
# SLURM executor plugin asks (`scontrol show config`) on every start, so every
# snakemake command on this machine, dry runs included, would wait 9 s.
set -euo pipefail

CONF=/etc/slurm/slurm.conf
MARKER="# Written by scripts/slurm/start.sh of the DED workflow."

stop_pidfile() {
    local name=$1 pidfile=$2 pid
    [ -s "$pidfile" ] || { echo "stop.sh: $name not running"; return 0; }
    pid=$(cat "$pidfile")
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "stop.sh: $name not running (stale $pidfile)"
        rm -f "$pidfile"
        return 0
    fi
    kill "$pid"
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || { echo "stop.sh: stopped $name"; return 0; }
        sleep 0.2
    done
    echo "stop.sh: $name (pid $pid) did not stop in 10 s; sending SIGKILL" >&2
    kill -9 "$pid" 2>/dev/null || true
}

stop_pidfile slurmd /run/slurmd.pid
stop_pidfile slurmctld /run/slurmctld.pid
stop_pidfile munged /run/munge/munged.pid

if [ -f "$CONF" ] && grep -qxF "$MARKER" "$CONF" && ! grep -qx 'MessageTimeout=1' "$CONF"; then
    printf '%s\n' "# Added by scripts/slurm/stop.sh: clients of the stopped controller fail at once." \
        "MessageTimeout=1" >>"$CONF"
    echo "stop.sh: $CONF: MessageTimeout=1 while stopped (start.sh rewrites it)"
fi
