"""The commands (``train``, ``test``, ``demo``: run as ``tools/*.py``, ``python -m
mmtwins.cli.*`` or ``mmtwins-*``) and what they share."""
