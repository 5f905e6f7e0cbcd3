"""Checkpoints on the Hugging Face hub, e.g. ``timm/twins_svt_small.in1k``.

``init_cfg=dict(type='Pretrained', checkpoint='timm/twins_svt_small.in1k')`` (or
``'hf-hub:timm/twins_svt_small.in1k@REVISION'``) fetches the repo's ``model.safetensors``
with ``huggingface_hub.hf_hub_download``. Its cache (``HF_HOME`` / ``HF_HUB_CACHE``),
offline mode (``HF_HUB_OFFLINE=1``), token and endpoint settings apply unchanged: mmtwins
only calls it. The file is then read like any local checkpoint (safetensors, no pickle).
"""
import os
import os.path as osp
import re
from typing import Optional, Tuple

from ..errors import CheckpointNotFoundError
from .download import is_url

HUB_PREFIXES = ('hf-hub:', 'hf_hub:')
# a bare string ending like this is a (missing) local file, never a hub repo id
CHECKPOINT_EXTENSIONS = ('.pth', '.pt', '.bin', '.safetensors', '.ckpt', '.pkl', '.tar')
# tried in this order; the second only when the first is not in the repo (or not cached)
WEIGHT_FILES = ('model.safetensors', 'pytorch_model.bin')

_NAME = r'\w(?:[\w.-]*\w)?'
_REPO_ID = re.compile(rf'^{_NAME}/{_NAME}$')
_PREFIXED_REPO_ID = re.compile(rf'^(?:{_NAME}/)?{_NAME}$')


def is_hub_id(s) -> bool:
    """Whether ``s`` names a Hugging Face hub repo rather than a file or URL.

    True for ``'hf-hub:ORG/NAME[@REVISION]'``, and for a bare ``'ORG/NAME'`` that is not an
    existing local path, not a URL, has exactly one ``/`` and does not end in a checkpoint
    file extension (``.pth``, ``.safetensors``, ...). ``pathlib.Path`` objects are paths.
    """
    if not isinstance(s, str):
        return False
    if s.startswith(HUB_PREFIXES):
        return True
    if is_url(s) or '://' in s or s.count('/') != 1 or not _REPO_ID.match(s):
        return False
    if s.lower().endswith(CHECKPOINT_EXTENSIONS):
        return False
    return not osp.exists(osp.expanduser(s))


def split_hub_id(hub_id: str) -> Tuple[str, Optional[str]]:
    """``'hf-hub:ORG/NAME@REV'`` -> ``('ORG/NAME', 'REV')``; no revision -> ``None``."""
    s = os.fspath(hub_id)
    for prefix in HUB_PREFIXES:
        if s.startswith(prefix):
            s = s[len(prefix):]
            break
    repo_id, _, revision = s.partition('@')
    return repo_id, revision or None


def _hub_errors():
    from huggingface_hub import errors  # huggingface_hub >= 0.23

    class _Never(Exception):
        pass

    return {name: getattr(errors, name, _Never) for name in (
        'RepositoryNotFoundError', 'RevisionNotFoundError', 'EntryNotFoundError',
        'LocalEntryNotFoundError', 'HFValidationError')}


def download_from_hub(hub_id: str) -> str:
    """Local path of the weights of hub repo ``hub_id``, downloaded into the HF cache.

    Raises:
        CheckpointNotFoundError: huggingface_hub is not installed, the file is neither
            cached nor downloadable (offline mode, no network), or the repo, revision or
            weight file does not exist. The original error is chained.
    """
    repo_id, revision = split_hub_id(hub_id)
    at = f'@{revision}' if revision else ''
    local_hint = ''
    if not hub_id.startswith(HUB_PREFIXES):
        local_hint = (f'\n({hub_id!r} was taken as a Hugging Face hub repo id because no local '
                      f'file of that name exists; if you meant a local file, check its path.)')
    if not _PREFIXED_REPO_ID.match(repo_id):
        raise CheckpointNotFoundError(
            f'{hub_id!r} is not a valid Hugging Face hub repo id: expected '
            f"'hf-hub:ORG/NAME' or 'hf-hub:ORG/NAME@REVISION', e.g. "
            f"'hf-hub:timm/twins_svt_small.in1k'.")
    try:
        from huggingface_hub import constants, hf_hub_download
    except ImportError as exc:
        raise CheckpointNotFoundError(
            f'{hub_id!r} is a Hugging Face hub repo id, and loading it needs the '
            f'huggingface_hub package: pip install huggingface_hub (or pip install '
            f'"mmtwins[hub]"). Or download {WEIGHT_FILES[0]} of https://huggingface.co/'
            f'{repo_id} yourself and pass its local path as the checkpoint.{local_hint}'
        ) from exc
    from ..version import __version__
    errors = _hub_errors()
    cache_dir = constants.HF_HUB_CACHE
    first_error = None
    for filename in WEIGHT_FILES:
        try:
            return hf_hub_download(repo_id, filename=filename, revision=revision,
                                   library_name='mmtwins', library_version=__version__)
        except errors['RevisionNotFoundError'] as exc:
            raise CheckpointNotFoundError(
                f'Hugging Face hub repo {repo_id!r} has no revision {revision!r}: use a '
                f'branch, tag or commit hash of it (or none, for main).') from exc
        except errors['RepositoryNotFoundError'] as exc:
            raise CheckpointNotFoundError(
                f'Hugging Face hub repo {repo_id!r} was not found (or is private or gated and '
                f'no token with access was given: hf auth login, or set HF_TOKEN). Check the '
                f"id: timm's Twins weights are e.g. 'timm/twins_svt_small.in1k'.{local_hint}"
            ) from exc
        except errors['HFValidationError'] as exc:
            raise CheckpointNotFoundError(
                f'{hub_id!r} is not a valid Hugging Face hub repo id ({exc}).{local_hint}'
            ) from exc
        except errors['EntryNotFoundError'] as exc:
            # not in the repo, or (LocalEntryNotFoundError) neither cached nor reachable
            if first_error is None:
                first_error = exc
        except Exception as exc:  # network, HTTP and OS errors of many kinds
            raise CheckpointNotFoundError(
                f'could not download {filename} of Hugging Face hub repo '
                f'{repo_id}{at} ({type(exc).__name__}: {_first_line(exc)}). Check your '
                f'network (and HF_ENDPOINT / proxy settings), or download the file yourself '
                f'and pass its local path as the checkpoint.') from exc
    exc = first_error
    if isinstance(exc, errors['LocalEntryNotFoundError']):
        offline = bool(getattr(constants, 'HF_HUB_OFFLINE', False))
        why = ('offline mode is on (HF_HUB_OFFLINE=1)' if offline
               else 'the hub could not be reached')
        msg = (f'{WEIGHT_FILES[0]} of Hugging Face hub repo {repo_id}{at} is not in the local '
               f'cache {cache_dir} and {why}. ')
        if offline:
            msg += ('Go online once (unset HF_HUB_OFFLINE) to download it into the cache, '
                    'point HF_HUB_CACHE or HF_HOME at the cache that holds it, ')
        else:
            msg += 'Check your network (and HF_ENDPOINT / proxy settings), '
        msg += 'or download the file yourself and pass its local path as the checkpoint.'
    else:
        msg = (f'Hugging Face hub repo {repo_id}{at} has neither {WEIGHT_FILES[0]} nor '
               f'{WEIGHT_FILES[1]}: it holds no weights mmtwins can load.')
    raise CheckpointNotFoundError(msg + local_hint) from exc


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ''
