"""Command-line tools (``tools/train.py``, ``tools/test.py`` are thin wrappers)."""
