"""mmtwins' errors are the standard exceptions that fit, with their messages: code written for
mmengine, mmpretrain or plain Python catches them as it would catch the hosts' errors."""
import os.path as osp

import pytest
from helpers import REPO_ROOT, TINY_SVT

from mmtwins.checkpoint import load_pretrained
from mmtwins.cli.config_checks import load_config
from mmtwins.errors import (CheckpointError, CheckpointNotFoundError, ConfigError,
                            InputNotFoundError, MMTwinsError)
from mmtwins.models import TwinsSVT

CONFIG = osp.join(REPO_ROOT, 'configs', 'upernet_twins_svt_s_ade20k.py')


def test_missing_checkpoint_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.pth') as info:
        load_pretrained(TwinsSVT(arch=TINY_SVT), str(tmp_path / 'missing.pth'))
    assert isinstance(info.value, CheckpointNotFoundError) and isinstance(info.value, OSError)


def test_unreadable_checkpoint_is_a_value_error(tmp_path):
    path = tmp_path / 'garbage.pth'
    path.write_bytes(b'not a checkpoint at all')
    with pytest.raises(ValueError, match='is not a PyTorch checkpoint') as info:
        load_pretrained(TwinsSVT(arch=TINY_SVT), str(path))
    assert isinstance(info.value, CheckpointError) and isinstance(info.value, MMTwinsError)


def test_missing_config_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError, match='config file not found') as info:
        load_config(str(tmp_path / 'upernet_twins_svt_s_ade20k_typo.py'))
    assert isinstance(info.value, InputNotFoundError)


def test_wrong_cfg_option_is_a_value_error():
    with pytest.raises(ValueError, match="has no key 'decode_haed'") as info:
        load_config(CONFIG, {'model.decode_haed.num_classes': 5})
    assert isinstance(info.value, ConfigError)


@pytest.mark.parametrize('init_cfg', [123, 'Pretrained', [dict(type='Pretrained'), 5]])
def test_init_cfg_of_a_wrong_type_is_a_type_error(init_cfg):
    with pytest.raises(TypeError, match='init_cfg must be None, a dict or a list of dicts'):
        TwinsSVT(arch=TINY_SVT, init_cfg=init_cfg)
