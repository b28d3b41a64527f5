# Resources that grow with each retry. Include after common.smk:
#     include: "rules/resources.smk"
# and use in a rule:
#     resources:
#         runtime=runtime_for(120),
# With --retries (profiles/slurm sets 2), a job killed at its time limit is
# resubmitted with `attempt` + 1 and so with a longer limit. The SLURM
# profile's set-resources override these per rule; they are the defaults for
# any executor. No rules here.


def runtime_for(base_minutes, growth=1.0):
    """Runtime in minutes for attempt 1, 2, ...: base * (1 + growth * (attempt - 1)).

    growth=1.0 gives base, 2 x base, 3 x base: enough head-room after a
    time-out without asking a queue for days up front.
    """
    if base_minutes <= 0:
        raise ValueError(f"runtime_for: base_minutes must be positive, got {base_minutes}")

    def runtime(wildcards, attempt):
        return int(round(base_minutes * (1 + growth * (attempt - 1))))

    return runtime


def mem_mb_for(base_mb, growth=0.5):
    """Memory in MB for attempt 1, 2, ...: base * (1 + growth * (attempt - 1)), for out-of-memory kills."""
    if base_mb <= 0:
        raise ValueError(f"mem_mb_for: base_mb must be positive, got {base_mb}")

    def mem_mb(wildcards, attempt):
        return int(round(base_mb * (1 + growth * (attempt - 1))))

    return mem_mb
