"""The pieces of tools/analysis/benchmark.py, by concern: timing harness (timing.py),
peers (peers.py), peak memory (memory.py), whole-segmentor rows (segmentor.py)."""
