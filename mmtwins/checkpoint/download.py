"""Downloading checkpoints from URLs into torch's hub cache, so that they can be trusted.

* Atomic: the file is written under a temporary name in the cache directory and renamed
  only once it is complete (every byte the server announced, and the hash below), so an
  interrupted download never leaves a file that a later run would take for complete.
* Checked: a file name carrying a SHA-256 prefix (``name-<8 to 64 hex digits>.pth``, as every
  OpenMMLab and torchvision URL does) must match it; a mismatch is one error and no file.
* Once per node: in a distributed run local rank 0 of each node downloads while the other
  ranks wait, and every rank learns whether it worked, so a failed download stops all ranks
  with the error instead of leaving some waiting forever.

Reading the downloaded file is not done here: see :func:`mmtwins.checkpoint.io.load_file`
(``weights_only=True`` with mmtwins' allow-list, or safetensors).
"""
import hashlib
import os
import os.path as osp
import re
import tempfile
import urllib.error
import urllib.request
from typing import Optional
from urllib.parse import urlparse

from ..errors import CheckpointError, CheckpointNotFoundError

URL_SCHEMES = ('http', 'https', 'ftp')
# the SHA-256 prefix torch.hub and the OpenMMLab model zoos put before the extension
HASH_IN_NAME = re.compile(r'-([0-9a-f]{8,64})\.[A-Za-z0-9]+$')
CHUNK = 1 << 20
TIMEOUT_S = 60  # for connecting and for each read; a stalled transfer is an error


class ChecksumError(CheckpointError):
    """A downloaded file whose SHA-256 does not start with the prefix in its name."""


def is_url(path) -> bool:
    return isinstance(path, str) and urlparse(path).scheme in URL_SCHEMES


def hub_checkpoint_dir() -> str:
    """Where downloaded checkpoints are kept: ``<torch hub dir>/checkpoints`` (``TORCH_HOME``
    and ``torch.hub.set_dir`` apply), the directory mmengine and torch use too."""
    from torch.hub import get_dir
    return osp.join(get_dir(), 'checkpoints')


def cached_path(url: str, model_dir: Optional[str] = None) -> str:
    """The cache file of ``url`` (whether or not it exists yet)."""
    name = osp.basename(urlparse(url).path) or 'checkpoint.pth'
    return osp.join(model_dir or hub_checkpoint_dir(), name)


def expected_hash_prefix(path: str) -> Optional[str]:
    match = HASH_IN_NAME.search(osp.basename(path))
    return match.group(1) if match else None


def _one_line(exc: BaseException) -> str:
    text = str(getattr(exc, 'reason', None) or exc).strip()
    return f'{type(exc).__name__}: {text.splitlines()[0] if text else ""}'.rstrip(': ')


def download(url: str, model_dir: Optional[str] = None) -> str:
    """Local path of ``url``'s file, downloaded into the hub cache unless already there.

    Raises:
        CheckpointNotFoundError: the server could not be reached, answered with an error
            (404, ...), or the transfer ended before the announced size. One line, naming
            the URL.
        ChecksumError: the file's SHA-256 does not start with the prefix in its name.
    """
    target = cached_path(url, model_dir)
    if osp.isfile(target):  # only complete, checked files are ever given this name
        return target
    os.makedirs(osp.dirname(target), exist_ok=True)
    fd, partial = tempfile.mkstemp(prefix=f'.{osp.basename(target)}.', suffix='.partial',
                                   dir=osp.dirname(target))
    try:
        with os.fdopen(fd, 'wb') as out:
            sha256, received, announced = _fetch(url, out)
            out.flush()
            os.fsync(out.fileno())
        if announced is not None and received != announced:
            raise CheckpointNotFoundError(
                f'could not download checkpoint {url}: the transfer ended after {received} of '
                f'{announced} bytes; nothing was kept. Try again, or download the file yourself '
                f'and pass its local path.')
        prefix = expected_hash_prefix(target)
        if prefix is not None and not sha256.hexdigest().startswith(prefix):
            raise ChecksumError(
                f'the checkpoint downloaded from {url} is not the published file: its name '
                f'says its SHA-256 starts with {prefix}, but it is '
                f'{sha256.hexdigest()[:len(prefix)]} ({received} bytes); nothing was kept. The '
                f'server or a proxy sent other data: try again later, or download the file '
                f'yourself and pass its local path.')
        os.replace(partial, target)
    finally:
        if osp.exists(partial):
            os.remove(partial)
    return target


def _fetch(url: str, out):
    """Stream ``url`` into the open file ``out``: (sha256, bytes received, bytes announced)."""
    request = urllib.request.Request(url, headers={'User-Agent': 'mmtwins'})
    sha256, received = hashlib.sha256(), 0
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            length = response.headers.get('Content-Length')
            announced = int(length) if length and length.isdigit() else None
            while True:
                chunk = response.read(CHUNK)
                if not chunk:
                    break
                out.write(chunk)
                sha256.update(chunk)
                received += len(chunk)
    except urllib.error.HTTPError as exc:
        raise CheckpointNotFoundError(
            f'could not download checkpoint {url}: the server answered {exc.code} '
            f'{exc.reason}. Check the URL, or download the file yourself and pass its local '
            f'path.') from None
    except (OSError, ValueError) as exc:  # URLError, timeouts, resets, malformed URLs
        raise CheckpointNotFoundError(
            f'could not download checkpoint {url} ({_one_line(exc)}). Check the URL and your '
            f'network, or download the file yourself and pass its local path.') from None
    except Exception as exc:  # http.client.IncompleteRead and other protocol errors
        raise CheckpointNotFoundError(
            f'could not download checkpoint {url} ({_one_line(exc)}); nothing was kept. Try '
            f'again, or download the file yourself and pass its local path.') from None
    return sha256, received, announced


def _local_rank() -> int:
    """This process's rank on its node, as the launchers set it (torchrun and mmengine's
    pytorch/slurm launchers export LOCAL_RANK); without it, only global rank 0 downloads."""
    from mmengine.dist import get_rank
    local = os.environ.get('LOCAL_RANK')
    if local is not None and local.strip().isdigit():
        return int(local)
    return 0 if get_rank() == 0 else 1


def download_once_per_node(url: str, model_dir: Optional[str] = None) -> str:
    """:func:`download`, by local rank 0 of each node while the other ranks wait.

    Outside a distributed run this is :func:`download`. In one, every rank takes part in one
    collective step after the download, which carries whether it worked: a failure raises on
    every rank (the downloading rank with its own error, the others naming it), so no rank is
    left waiting for a file that will never come.
    """
    import torch
    from mmengine import dist
    _, world_size = dist.get_dist_info()
    if world_size < 2:
        return download(url, model_dir)
    error: Optional[BaseException] = None
    path = cached_path(url, model_dir)
    if _local_rank() == 0:
        try:
            path = download(url, model_dir)
        except Exception as exc:  # reported to every rank below
            error = exc
    failed = torch.tensor([0 if error is None else 1], dtype=torch.int64)
    dist.all_reduce(failed, op='max')  # also the barrier: the file exists after it
    if error is not None:
        raise error
    if int(failed.item()):
        raise CheckpointNotFoundError(
            f'could not download checkpoint {url}: the process that downloads it failed (see '
            f'its error above); this rank stops too.')
    if not osp.isfile(path):
        raise CheckpointNotFoundError(
            f'checkpoint {url} was downloaded by local rank 0 into {osp.dirname(path)}, which '
            f'this rank cannot see: give every node a hub cache (TORCH_HOME) it can read, and '
            f'set LOCAL_RANK for each process.')
    return path
