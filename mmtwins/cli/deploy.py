"""Deploy a trained segmentor or detector through mmdeploy to ONNX Runtime, draw its
predictions, and check it against PyTorch at other input sizes.

    python tools/deployment/deploy.py CONFIG CHECKPOINT IMAGE --work-dir DIR \\
        [--deploy-cfg DEPLOY_CFG] [--check 512x512 480x640 ...]

Writes ``DIR/end2end.onnx`` (mmdeploy's ``torch2onnx``, traced at IMAGE's size after the
config's test pipeline; its input height and width are free) and ``DIR/output_onnxruntime*``
(the ONNX Runtime model's predictions on IMAGE, drawn by mmdeploy). The deploy config is the
shipped one for the config's task (configs/deploy/) unless given. The checkpoint must fit the
config's model as a whole (mmdeploy's own loading would deploy a half-loaded model).

``--check HxW ...`` runs PyTorch and the deployed model on IMAGE resized to each size and
prints their agreement (segmentation: pixels with the same class; detection: instances matched
by label and box IoU, score differences, mask IoU); exit status 1 when a size falls short of
``--min-agreement`` (share of pixels or of matched instances, default 0.99 and 0.9).
"""
import argparse
import sys

from .run import run_main


def parse_size(text: str):
    try:
        h, w = (int(v) for v in text.lower().split('x'))
    except ValueError:
        raise argparse.ArgumentTypeError(f'sizes are HxW, e.g. 512x512, got {text!r}')
    if h < 1 or w < 1:
        raise argparse.ArgumentTypeError(f'sizes must be positive, got {text!r}')
    return h, w


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='model config (mmseg or mmdet scope)')
    parser.add_argument('checkpoint', help='trained whole-model checkpoint (file or URL)')
    parser.add_argument('image', help='an image: traced at its size, and drawn on')
    parser.add_argument('--work-dir', required=True, help='where the model and picture go')
    parser.add_argument('--deploy-cfg', default=None,
                        help="mmdeploy deploy config (default: configs/deploy/'s for the task)")
    parser.add_argument('--check', nargs='+', type=parse_size, default=[], metavar='HxW',
                        help='compare with PyTorch at these input sizes')
    parser.add_argument('--score-thr', type=float, default=0.3,
                        help='--check, detection: compare instances scoring at least this')
    parser.add_argument('--min-agreement', type=float, default=None,
                        help='--check: least share of equal pixels (segmentation, default '
                        '0.99) or matched instances (detection, default 0.9)')
    parser.add_argument('--no-picture', action='store_true', help='do not draw the predictions')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from ..deployment import deploy as dep
    names = dep.require_mmdeploy()
    print(f'mmdeploy: mmtwins registered {len(names)} fixes: {", ".join(names)}')
    result = dep.deploy(args.config, args.checkpoint, args.image, args.work_dir,
                        deploy_cfg=args.deploy_cfg, picture=not args.no_picture)
    from ..deployment.onnx import normalisation
    from .config_checks import load_config
    print(f'wrote {result.onnx_file}: traced at {result.export_shape[0]}x'
          f'{result.export_shape[1]}, dynamic height and width, outputs '
          f'{", ".join(result.outputs)} ({result.deploy_cfg})')
    print(f'input: the config\'s test pipeline, then {normalisation(load_config(args.config))} '
          f'(outside the graph: mmdeploy\'s model wrapper and SDK apply it)')
    if result.picture:
        print(f'wrote {result.picture}: the ONNX Runtime model\'s predictions on {args.image}')
    if not args.check:
        return 0
    rows = dep.agreement(args.config, args.checkpoint, [result.onnx_file], args.image,
                         args.check, deploy_cfg=result.deploy_cfg, score_thr=args.score_thr,
                         checked=True)
    failed = 0
    for row in rows:
        least = args.min_agreement
        if row.pixels is not None:
            share, least = row.pixels, 0.99 if least is None else least
        elif row.instances:
            share, least = row.matched, 0.9 if least is None else least
        else:
            share, least = None, None
        ok = share is None or share >= least
        failed += not ok
        print(f'onnxruntime vs PyTorch at {row.line()}' + ('' if ok else
              f'  <- below {least}'))
    if failed:
        print(f'\n{failed} of {len(rows)} sizes fall short of the agreement asked '
              f'(--min-agreement)', file=sys.stderr)
        return 1
    return 0


def cli() -> int:
    """Console-script entry point (mmtwins-deploy)."""
    return run_main(main)


if __name__ == '__main__':
    sys.exit(run_main(main))
