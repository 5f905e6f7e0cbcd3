"""One rank of a 2-process (gloo) run that downloads a checkpoint URL once per node; prints
the local path. Used by tests/test_checkpoint/test_url_safety.py."""
import sys
from datetime import timedelta

import torch.distributed as dist

from mmtwins.checkpoint.download import download_once_per_node
from mmtwins.errors import MMTwinsError

dist.init_process_group('gloo', timeout=timedelta(seconds=120))
try:
    print(download_once_per_node(sys.argv[1]), flush=True)
except MMTwinsError as exc:
    print(f'error: {exc}', file=sys.stderr, flush=True)
    sys.exit(1)
finally:
    dist.destroy_process_group()
