"""A runner hook that checks every whole-model checkpoint a runner loads."""
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS
from mmengine.runner import BaseLoop

from ..checkpoint.whole_model import (check_whole_model, put_converted_backbones, state_dict_of,
                                      summary_line)


@HOOKS.register_module()
class CheckpointCompatibilityHook(Hook):
    """Refuse a checkpoint that does not fit the model; say in one line what loaded.

    mmengine's runner loads ``load_from`` / ``--resume`` checkpoints non-strictly: tensors
    that do not fit are listed in the log and the model keeps its random values there. This
    hook runs in ``after_load_checkpoint``, which the runner calls with the checkpoint
    before it copies anything into the model, and

    * raises :class:`~mmtwins.checkpoint.CheckpointError` when the heads or necks differ
      (nothing is loaded, the run stops);
    * when fine-tuning (``load_from`` in a training run), lets the layers sized by the
      number of classes differ: their checkpoint tensors are replaced by the model's
      initialised ones, so they keep their initialisation and mmengine has nothing to list;
      evaluating or resuming with another number of classes is refused;
    * logs one line: tensors loaded, backbone layout, what was skipped and why.

    The backbone part is converted and checked by the backbone itself, on every path.
    mmtwins' configs list this hook in ``custom_hooks``; mmtwins' tools add it when a
    config does not.
    """

    priority = 'VERY_HIGH'

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state_dict = state_dict_of(checkpoint)
        if state_dict is None:
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        resuming = bool(getattr(runner, '_resume', False))
        training = isinstance(getattr(runner, '_train_loop', None), BaseLoop)
        source = getattr(runner, '_load_from', None) or 'the checkpoint'
        report = check_whole_model(model, state_dict, source=str(source),
                                   fine_tune=training and not resuming)
        target = checkpoint['state_dict'] if 'state_dict' in checkpoint else checkpoint
        own = model.state_dict() if report['skipped'] else {}
        for key in report['skipped']:
            # under the key mmengine will use ('module.' is stripped by it)
            name = key if key in target else f'module.{key}'
            target[name] = own[key].detach().clone()
        # the backbones' tensors, already converted and checked: this line reports them
        put_converted_backbones(target, report)
        print_log(summary_line(report, str(source)), logger='current')
