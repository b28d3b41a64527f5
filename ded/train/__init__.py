"""Training stage: LlamaFactory SFT."""
