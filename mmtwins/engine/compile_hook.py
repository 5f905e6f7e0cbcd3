"""torch.compile for evaluation and inference, from mmengine's own ``compile`` setting.

mmengine compiles ``train_step`` when a config sets ``compile`` (``True`` or a dict of
``torch.compile`` options) and leaves validation and testing eager. This hook reads the same
setting and compiles the network's modules in place (parameter names and checkpoints stay as
they are) before validation and testing: the backbone, the neck and a segmentor's decode head,
which hold nearly all of the computation; data preprocessing and the heads' post-processing
(NMS, box decoding, resizing) stay eager. The backbone and neck are called as modules and
compile with ``nn.Module.compile``; mmseg calls its decode head's ``forward`` directly (from
``predict``), past ``nn.Module.compile``, so the head's ``forward`` is compiled instead, for the
loop only (:func:`restore_forwards` after it). ``tools/train.py --compile``
and ``tools/test.py --compile`` set ``compile`` and add this hook; with the hosts' own scripts,
add ``compile=True`` and ``dict(type='CompileForInferenceHook')`` in ``custom_hooks``.
"""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

#: the modules compiled, where the model has them
TARGETS = ('backbone', 'neck', 'decode_head')
#: those of them whose host calls ``forward`` itself rather than the module
FORWARD_TARGETS = ('decode_head',)


def compile_options(cfg) -> dict:
    """``torch.compile`` keyword arguments from a config's ``compile`` (None: not enabled)."""
    setting = cfg.get('compile', None) if cfg is not None else None
    if setting is None or setting is False:
        return None
    if setting is True:
        return {}
    if isinstance(setting, dict):
        return dict(setting)
    raise TypeError(f'compile must be True, False or a dict of torch.compile options, got '
                    f'{type(setting).__name__}: {setting!r}')


def inner_network(model):
    """The detector or segmentor inside DDP and test-time-augmentation wrappers."""
    from mmengine.model import BaseTTAModel
    model = model.module if is_model_wrapper(model) else model
    return model.module if isinstance(model, BaseTTAModel) else model


def compile_modules(model, options: dict, targets=TARGETS) -> list:
    """Compile the ``targets`` of ``model`` (inside its wrappers) in place; returns the names
    compiled."""
    import torch
    model = inner_network(model)
    done = []
    for name in targets:
        module = getattr(model, name, None)
        if module is None or getattr(module, '_compiled_call_impl', None) is not None \
                or 'forward' in vars(module):
            continue
        if name in FORWARD_TARGETS:  # an instance attribute over the class's forward
            module.forward = torch.compile(module.forward, **options)
        else:
            module.compile(**options)
        done.append(name)
    return done


def restore_forwards(model, targets=FORWARD_TARGETS) -> None:
    """Undo :func:`compile_modules` for the modules compiled through their ``forward``: the
    class's own forward again (for training, copies and pickling)."""
    model = inner_network(model)
    for name in targets:
        module = getattr(model, name, None)
        if module is not None and 'forward' in vars(module):
            del module.forward


@HOOKS.register_module()
class CompileForInferenceHook(Hook):
    """Compile the network for validation and testing when the config sets ``compile``."""

    priority = 'LOW'

    def _compile(self, runner) -> None:
        options = compile_options(runner.cfg)
        if options is None:
            return
        done = compile_modules(runner.model, options)
        if done:
            runner.logger.info(f'torch.compile({options or ""}) for inference: '
                               f'{", ".join(done)} (the first batches compile, slowly)')

    def before_val(self, runner) -> None:
        self._compile(runner)

    def after_val(self, runner) -> None:
        restore_forwards(runner.model)

    def before_test(self, runner) -> None:
        self._compile(runner)

    def after_test(self, runner) -> None:
        restore_forwards(runner.model)
