"""The compute plan (`python -m ded plan`): GPU-hours, wall-clock and disk per stage, estimated from a
config's token counts and the job lists of ded/jobs.py before anything is submitted (estimate.py), and
its command line (cli.py)."""
