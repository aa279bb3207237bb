"""Training our own XLM models: BPE, corpus, batches, the trainer and fine-tuning (``python -m xlm.train``)."""
