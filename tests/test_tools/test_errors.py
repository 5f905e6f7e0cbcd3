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


def test_misspelt_mmtwins_base_is_one_file_not_found_error(tmp_path):
    user = tmp_path / 'my_config.py'
    user.write_text("_base_ = ['mmtwins::upernet_twins_svt_s_ade2k.py']\n")
    with pytest.raises(FileNotFoundError) as info:
        load_config(str(user))
    assert isinstance(info.value, InputNotFoundError)
    assert str(info.value) == (
        f'{user}: mmtwins::upernet_twins_svt_s_ade2k.py: no such mmtwins config. Did you mean '
        'mmtwins::upernet_twins_svt_s_ade20k.py, mmtwins::upernet_twins_svt_l_ade20k.py, '
        'mmtwins::upernet_twins_svt_b_ade20k.py?')


def test_wrong_cfg_option_is_a_value_error():
    with pytest.raises(ValueError, match="has no key 'decode_haed'") as info:
        load_config(CONFIG, {'model.decode_haed.num_classes': 5})
    assert isinstance(info.value, ConfigError)
    # a misspelt last key, where the receiving call would fail or ignore it
    for key, close in (('train_cfg.max_iterz', 'max_iters'),
                       ('model.backbone.drop_path_rat', 'drop_path_rate'),
                       ('optim_wrapper.optimizer.weight_decey', 'weight_decay')):
        with pytest.raises(ConfigError, match=f"has no key '{key.split('.')[-1]}'; did you "
                                              f"mean '{close}'"):
            load_config(CONFIG, {key: 1})
    # a new key unlike every key there is added, as mmengine does
    cfg = load_config(CONFIG, {'model.backbone.norm_eval': True, 'train_cfg.fp16': True})
    assert cfg.model.backbone.norm_eval is True and cfg.train_cfg.fp16 is True


@pytest.mark.parametrize('init_cfg', [123, 'Pretrained', [dict(type='Pretrained'), 5]])
def test_init_cfg_of_a_wrong_type_is_a_type_error(init_cfg):
    with pytest.raises(TypeError, match='init_cfg must be None, a dict or a list of dicts'):
        TwinsSVT(arch=TINY_SVT, init_cfg=init_cfg)
