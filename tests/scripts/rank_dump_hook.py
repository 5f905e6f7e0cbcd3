"""A test hook (loaded with custom_imports): after training, every rank saves its own copy
of the model's parameters, so that a test can check that all ranks ended identical.

(Buffers are left out on purpose: without GPUs SyncBN becomes BN, whose running statistics
are each rank's own, as with any non-synchronised BN under DDP.)"""
import os.path as osp

import torch
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class RankWeightsDumpHook(Hook):

    def after_train(self, runner) -> None:
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        state = {k: v.detach().cpu().clone() for k, v in model.named_parameters()}
        torch.save(state, osp.join(runner.work_dir, f'rank{runner.rank}_weights.pth'))
