"""Data stage: seeds, benchmarks, decontamination."""
