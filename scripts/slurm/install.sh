#!/usr/bin/env bash
# Install a single-node SLURM from Debian's packages (for tests/workflow/test_slurm.py
# and for trying the SLURM profile on one machine). Needs root and apt.
#
# Exit status: 0 installed (or already there); 75 apt cannot reach a
# repository that offers SLURM (the test skips on this one code only);
# anything else is a real failure.
set -euo pipefail

PACKAGES=(slurmctld slurmd slurm-client munge)
UNREACHABLE=75

have_all() {
    command -v slurmctld && command -v slurmd && command -v sinfo && command -v munged
} >/dev/null 2>&1

if have_all; then
    echo "install.sh: SLURM and munge are already installed"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "install.sh: installing SLURM needs root" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install.sh: no apt-get on this machine" >&2
    exit "$UNREACHABLE"
fi

export DEBIAN_FRONTEND=noninteractive
# `apt-get update` exits 0 on some fetch failures, so also ask whether the
# package is actually on offer afterwards.
# Wait for another apt run (e.g. unattended upgrades) instead of failing.
APT=(apt-get -q -o DPkg::Lock::Timeout=300 -o Acquire::Retries=3)
if ! "${APT[@]}" update; then
    echo "install.sh: apt-get update failed (no reachable repository?)" >&2
    exit "$UNREACHABLE"
fi
# Captured first: `apt-cache ... | grep -q` under pipefail fails at random
# when grep exits early and apt-cache dies of SIGPIPE.
policy_out=$(apt-cache policy slurmctld)
if ! grep -q 'Candidate: [0-9]' <<<"$policy_out"; then
    echo "install.sh: no repository reachable by apt offers slurmctld" >&2
    exit "$UNREACHABLE"
fi
# The packages' maintainer scripts try to start services through systemd or
# init scripts; start.sh starts the daemons itself, so keep them from it.
policy=/usr/sbin/policy-rc.d
added_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    added_policy=1
fi
remove_policy() { if [ "$added_policy" = 1 ]; then rm -f "$policy"; fi; }
trap remove_policy EXIT
"${APT[@]}" install -y --no-install-recommends "${PACKAGES[@]}"
have_all || { echo "install.sh: packages installed but daemons not found on PATH" >&2; exit 1; }
echo "install.sh: installed ${PACKAGES[*]}"
