"""Reading checkpoint files safely: ``torch.load(weights_only=True)`` or safetensors.

No loading path of mmtwins unpickles arbitrary objects. Besides tensors and containers,
the restricted unpickler accepts exactly the extra globals that real Twins checkpoints
hold: ``argparse.Namespace`` (the official trainer saves its ``args``) and, for whole
mmdet/mmseg checkpoints written by mmengine, its ``HistoryBuffer`` and the numpy
array/scalar/dtype reconstructors used in its message hub.
"""
import argparse
import os
import os.path as osp
import pickle
import zipfile
from typing import Any, List, Optional

import torch

from ..errors import CheckpointError, CheckpointNotFoundError  # noqa: F401  (re-exported)


def _numpy_globals() -> List[Any]:
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy ships with the stack
        return []
    found = [np.ndarray, np.dtype]
    for mod_name in ('numpy._core.multiarray', 'numpy.core.multiarray'):
        try:
            mod = __import__(mod_name, fromlist=['_reconstruct', 'scalar'])
        except ImportError:
            continue
        for name in ('_reconstruct', 'scalar'):
            fn = getattr(mod, name, None)
            if fn is not None:
                found.append((fn, f'{mod_name}.{name}'))
    # numpy >= 1.25 pickles dtypes as instances of numpy.dtypes.<Kind>DType
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        found += [getattr(dtypes, n) for n in dir(dtypes) if n.endswith('DType')]
    return found


def _history_buffer_getattr(obj: Any, name: str) -> Any:
    """Stand-in for ``getattr`` during unpickling, limited to what mmengine needs.

    mmengine pickles ``HistoryBuffer._statistics_methods`` as ``getattr(HistoryBuffer,
    'min')`` and so on; any other use of ``getattr`` in a checkpoint is refused.
    """
    from mmengine.logging.history_buffer import HistoryBuffer

    # the built-in statistics (registered lazily, on the first HistoryBuffer) and any
    # registered with HistoryBuffer.register_statistics
    allowed = {'min', 'max', 'current', 'mean'} | set(HistoryBuffer._statistics_methods)
    if obj is HistoryBuffer and isinstance(name, str) and name in allowed:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'weights_only: getattr({obj!r}, {name!r}) is not allowed (Unsupported global)')


def safe_globals() -> List[Any]:
    """The allow-list given to ``torch.load(weights_only=True)``."""
    allowed: List[Any] = [argparse.Namespace]
    try:
        from mmengine.logging.history_buffer import HistoryBuffer
        allowed += [HistoryBuffer, (_history_buffer_getattr, 'builtins.getattr')]
    except ImportError:  # pragma: no cover - mmengine is a dependency
        pass
    return allowed + _numpy_globals()


def _is_safetensors(path: str) -> bool:
    if path.endswith('.safetensors'):
        return True
    with open(path, 'rb') as f:
        head = f.read(9)
    # 8-byte little-endian header size, then a JSON header starting with '{'
    return len(head) == 9 and head[8:9] == b'{' and not zipfile.is_zipfile(path)


def unpickling_detail(exc: BaseException) -> str:
    """The line of torch's weights-only refusal that names what was refused (its first line
    is advice to switch the protection off, which we do not repeat)."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return next((ln for ln in lines if 'GLOBAL' in ln or 'Unsupported' in ln),
                lines[0] if lines else repr(exc))


def load_file(path: str, map_location: Optional[str] = 'cpu') -> Any:
    """Read a ``.pth``/``.pt``/``.bin`` or ``.safetensors`` file without running code.

    Raises:
        CheckpointError: the file is missing, not a checkpoint, truncated, or needs
            pickled objects outside the allow-list.
    """
    path = osp.expanduser(os.fspath(path))
    if not osp.isfile(path):
        raise CheckpointNotFoundError(
            f'checkpoint not found: {path!r} is not a file. (URLs and hub ids are read with '
            f'mmtwins.checkpoint.read_checkpoint.)')
    if osp.getsize(path) == 0:
        raise CheckpointError(f'{path} is empty (0 bytes): not a checkpoint')
    if _is_safetensors(path):
        try:
            from safetensors.torch import load_file as load_safetensors
        except ImportError as exc:  # pragma: no cover - safetensors is a dependency
            raise CheckpointError(f'{path} is a safetensors file; pip install safetensors'
                                  ) from exc
        try:
            return load_safetensors(path, device=str(map_location or 'cpu'))
        except Exception as exc:
            raise CheckpointError(f'{path} is not a readable safetensors file ({exc}); it '
                                  f'may be truncated or corrupt: download it again') from exc
    if not zipfile.is_zipfile(path):
        with open(path, 'rb') as f:
            first = f.read(1)
        if first != b'\x80':  # torch files are zip archives, or pickles (protocol >= 2)
            raise CheckpointError(f'{path} is not a PyTorch checkpoint (neither a torch zip '
                                  f'archive nor a pickle, and not safetensors); it may be '
                                  f'another kind of file, truncated or corrupt')
    try:
        with torch.serialization.safe_globals(safe_globals()):
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        msg = str(exc)
        if 'weights_only' in msg or 'Unsupported global' in msg or 'GLOBAL' in msg:
            detail = unpickling_detail(exc)
            raise CheckpointError(
                f'refusing to load {path}: it contains pickled Python objects that are not '
                f'plain weights, and unpickling them could run arbitrary code. mmtwins only '
                f'loads tensors (torch.load(weights_only=True)). If you trust the file, '
                f'extract its state dict yourself and save it with torch.save(state_dict, '
                f'...).\nDetails: {detail}') from exc
        raise CheckpointError(f'{path} is not a valid checkpoint ({exc}); it may be truncated '
                              f'or corrupt: download or copy it again') from exc
    except Exception as exc:  # the unpickler raises many types on garbage input
        raise CheckpointError(f'{path} is not a valid PyTorch checkpoint ({type(exc).__name__}: '
                              f'{str(exc).splitlines()[0] if str(exc) else ""}); it may be '
                              f'truncated, corrupt or another kind of file') from exc


def allow_mmengine_checkpoints() -> None:
    """Let every ``torch.load(weights_only=True)`` in this process (e.g. mmengine's
    ``load_from`` / ``--resume``, which rely on torch's default) read genuine mmengine
    checkpoints, by adding exactly the allow-list of :func:`safe_globals`.

    weights_only's safety is kept: nothing outside the allow-list is unpickled.
    """
    torch.serialization.add_safe_globals(safe_globals())
