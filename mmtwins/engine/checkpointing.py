"""Checkpoints that survive a job killed while saving, through mmengine's public extension
points only.

* :class:`AtomicLocalBackend` is registered as mmengine's file backend ``'mmtwins_atomic'``.
  Our configs select it for the checkpoint hook
  (``default_hooks.checkpoint.backend_args=dict(backend='mmtwins_atomic')``), so every run of
  them writes each checkpoint (and the ``last_checkpoint`` pointer) to a temporary file in the
  same directory and renames it when complete: our tools, mmdet's and mmseg's own
  ``tools/train.py`` and the hosts' Python APIs alike. Nothing else in the process changes.
* :func:`find_resumable_checkpoint` picks the newest complete ``iter_N.pth``/``epoch_N.pth``
  of a work dir, also when the pointer is missing (our ``tools/train.py --resume``).
"""
import os
import os.path as osp
import re
import tempfile
import zipfile
from typing import Optional, Union

from mmengine.fileio import LocalBackend, register_backend

BACKEND_NAME = 'mmtwins_atomic'
#: what our configs put in ``default_hooks.checkpoint``
BACKEND_ARGS = dict(backend=BACKEND_NAME)


def atomic_write(data: Union[bytes, str], filepath, encoding: str = 'utf-8') -> None:
    """Write ``data`` to ``filepath`` so that the final name only ever holds complete
    contents: a temporary file in the same directory, flushed to disk, then renamed."""
    filepath = os.fspath(filepath)
    directory = osp.dirname(osp.abspath(filepath))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f'.{osp.basename(filepath)}.',
                               suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data.encode(encoding) if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


@register_backend(BACKEND_NAME)
class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend whose writes are atomic (see :func:`atomic_write`)."""

    def put(self, obj: bytes, filepath) -> None:
        atomic_write(obj, filepath)

    def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
        atomic_write(obj, filepath, encoding=encoding)


_CKPT_NAME = re.compile(r'^(iter|epoch)_(\d+)\.pth$')


def is_complete_checkpoint(path: str) -> bool:
    """A torch zip checkpoint whose central directory is intact (truncated files fail)."""
    try:
        with zipfile.ZipFile(path) as z:
            return any(n.endswith('data.pkl') for n in z.namelist())
    except (OSError, zipfile.BadZipFile):
        return False


def find_resumable_checkpoint(work_dir: str) -> Optional[str]:
    """The newest complete ``iter_N.pth``/``epoch_N.pth`` of a work dir, or None.

    Unlike mmengine's ``last_checkpoint`` pointer, this survives a job killed while it
    was writing a checkpoint or the pointer: unreadable files are skipped, with a note.
    """
    if not osp.isdir(work_dir):
        return None
    found = sorted(((int(m.group(2)), name) for name in os.listdir(work_dir)
                    if (m := _CKPT_NAME.match(name))), reverse=True)
    for _, name in found:
        path = osp.join(work_dir, name)
        if is_complete_checkpoint(path):
            return path
        print(f'[mmtwins] skipping {path}: incomplete or corrupt checkpoint', flush=True)
    return None
