"""Speed and memory against transformers; results go to benchmarks/RESULTS.md."""
