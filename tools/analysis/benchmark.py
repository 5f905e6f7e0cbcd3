#!/usr/bin/env python
"""Benchmark mmtwins' Twins backbones against mmsegmentation's PCPVT/SVT and timm's Twins.

The peers are built with the same architecture and loaded with the same weights; timings are
interleaved in one run (warm-up, then medians), so machine noise hits all alike. timm joins
where it is importable (it needs torchvision, which mmtwins never installs).

    python tools/analysis/benchmark.py                       # SVT-S and PCPVT-S, fp32
    python tools/analysis/benchmark.py --dtypes fp32 bf16    # also under bf16 autocast
    python tools/analysis/benchmark.py --variants svt_b --infer-sizes 512x512 --device cuda
    python tools/analysis/benchmark.py --config-iter          # also one UPerNet iteration
    python tools/analysis/benchmark.py --only-segmentor --dtypes fp32 bf16  # UPerNet: eager,
                                         # --compile, ONNX Runtime

Prints, per variant and precision: inference (no grad) and training-step (forward +
backward) times and the ratios to each peer; peak memory of a training step (on CPU each
measured in a fresh process; mmtwins with and without ``with_cp``); mmtwins' achieved
GFLOP/s next to the machine's measured matmul GFLOP/s in that precision.
"""
import argparse
import json
import os
import os.path as osp
import platform
import sys
import time

import torch

from mmtwins.benchmark import attention_calls
from mmtwins.benchmark.memory import cuda_peak, peak_memory
from mmtwins.benchmark.peers import (REFERENCE, VARIANTS, build_pair, build_timm,
                                     check_same_weights, like_timm, timm_available)
from mmtwins.benchmark.segmentor import config_iteration, segmentor_paths
from mmtwins.benchmark.timing import (DTYPES, compiled_infer_fn, format_shares, infer_fn,
                                      interleaved, matmul_gflops, parse_size, time_shares,
                                      train_step_fn)
from mmtwins.cli.run import COMPILE_MODES

#: the whole-segmentor rows' config
UPERNET = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs',
                   'upernet_twins_svt_s_ade20k.py')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--variants', nargs='+', default=['svt_s', 'pcpvt_s'],
                        choices=sorted(VARIANTS))
    parser.add_argument('--infer-sizes', nargs='+', default=['512x512', '800x1344'])
    parser.add_argument('--infer-batch', type=int, default=1)
    parser.add_argument('--throughput-batch', type=int,
                        help='also inference rows at this batch size (e.g. 16 or 32 on a GPU): '
                        'images/s and the share of the matmul rate')
    parser.add_argument('--compile-mode', choices=COMPILE_MODES,
                        help='also mmtwins compiled with torch.compile(mode=...) under each '
                        'batch-1 inference row (reduce-overhead: CUDA graphs on a GPU), and '
                        "that mode for --segmentor's compiled rows")
    parser.add_argument('--train-sizes', nargs='*', default=['512x512'],
                        help='training-step sizes (none: no training rows)')
    parser.add_argument('--train-batch', type=int, default=2)
    parser.add_argument('--dtypes', nargs='+', default=['fp32'], choices=sorted(DTYPES),
                        help='precisions: fp32, and bf16/fp16 under torch.autocast')
    parser.add_argument('--peers', nargs='+', choices=('mmseg', 'timm'),
                        help='compare with these (default: mmseg, and timm if importable)')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=7)
    parser.add_argument('--no-memory', action='store_true', help='skip peak memory')
    parser.add_argument('--profile', action='store_true',
                        help='under each row, where mmtwins\' time goes (torch profiler: '
                        'matmul, attention, conv, copies, elementwise ops, other)')
    parser.add_argument('--attention-calls', action='store_true',
                        help="under each row, mmtwins' distinct attention calls, each timed "
                        "with torch's fused kernel (sdpa) and the explicit path (math), and the "
                        "one attn_impl='auto' takes")
    parser.add_argument('--config-iter', action='store_true',
                        help='also time one UPerNet SVT-S training iteration, ours vs mmseg')
    parser.add_argument('--config-crop', default='512x512')
    parser.add_argument('--config-repeats', type=int, default=3)
    parser.add_argument('--segmentor', action='store_true',
                        help='also time whole UPerNet-SVT-S inference at --config-crop: eager, '
                        '--compile (torch.compile of backbone, neck and decode head) and ONNX '
                        'Runtime, in each of --dtypes (ONNX Runtime: fp32)')
    parser.add_argument('--only-segmentor', action='store_true',
                        help='only that (no backbone rows)')
    parser.add_argument('--int8', action='store_true',
                        help='--segmentor: also ONNX Runtime with int8 dynamic quantization of '
                        'the linear layers (MatMul/Gemm)')
    parser.add_argument('--segmentor-checkpoint',
                        help='--segmentor: a trained UPerNet-SVT-S checkpoint (default: random '
                        'weights)')
    parser.add_argument('--segmentor-image',
                        help='--segmentor: an image, resized to --config-crop (default: noise)')
    parser.add_argument('--no-compile', action='store_true',
                        help='--segmentor without the torch.compile paths (which compile for '
                        'about a minute on 2 CPU cores)')
    parser.add_argument('--json', help='also write the results here')
    args = parser.parse_args(argv)

    device = args.device
    torch.manual_seed(0)
    from mmtwins.utils.flops import count_flops
    peers = args.peers or (['mmseg'] + (['timm'] if timm_available() else []))
    peaks = {dtype: matmul_gflops(device, dtype=dtype) for dtype in args.dtypes}
    hardware = (torch.cuda.get_device_name() if device == 'cuda'
                else platform.processor() or platform.machine())
    print(f'mmtwins benchmark {time.strftime("%Y-%m-%d")}: torch {torch.__version__}, '
          f'{device} ({hardware}, {torch.get_num_threads()} threads), medians of '
          f'{args.repeats} after {args.warmup} warm-up; peers: {", ".join(peers)}')
    for dtype, peak in peaks.items():
        print(f'measured {dtype} matmul (2048^3): {peak:.1f} GFLOP/s')
    print()
    results = dict(matmul_gflops=peaks, device=device, hardware=hardware, peers=peers,
                   variants={})

    def ours_columns():
        # timm's column is timed against mmtwins built as timm's network (peers.like_timm)
        return ['mmtwins'] + (['mmtwins~timm'] if 'timm' in peers else [])

    header = (f'{"variant":8s} {"prec":4s} {"workload":22s} '
              + ''.join(f'{c:>12s} ' for c in ours_columns() + peers)
              + ''.join(f'{"/" + p:>7s} ' for p in peers))
    if not args.only_segmentor:
        print(header)
        print('-' * len(header))
        if 'timm' in peers:
            print('(mmtwins~timm: mmtwins without stage norms, as timm\'s Twins; /timm is timm '
                  'over mmtwins~timm, /mmseg mmseg over mmtwins)')

    def row(variant, dtype, workload, t, extra=''):
        cells = ''.join(f'{t[c] * 1e3:10.1f}ms ' for c in ours_columns() + peers) + ''.join(
            f'{t[p] / t[REFERENCE[p]]:6.2f}x ' for p in peers)
        print(f'{variant:8s} {dtype:4s} {workload:22s} {cells}{extra}', flush=True)

    def profile_row(result, fn):
        result['time_shares'] = time_shares(fn, device)
        print(f'{"":36s}mmtwins\' time: {format_shares(result["time_shares"])}', flush=True)

    def calls_table(result, x, dtype, train):
        calls = attention_calls.record_calls(ours, x, dtype, train)
        attention_calls.time_calls(calls, device, dtype, train, args.warmup,
                                   max(3, args.repeats // (2 if train else 1)))
        result['attention_calls'] = attention_calls.as_json(calls)
        result['attention_totals'] = attention_calls.totals(calls)
        print(f'{"":36s}attention calls ({"forward + backward" if train else "forward"}):')
        print('\n'.join(attention_calls.format_calls(calls, indent=' ' * 36)), flush=True)

    def compiled_row(result, variant, dtype, x, eager_fn):
        fn, prep, diff = compiled_infer_fn(ours, x, dtype, args.compile_mode)
        t = interleaved(dict(eager=eager_fn, compiled=fn), device, args.warmup, args.repeats)
        result[f'compiled {args.compile_mode}'] = dict(time=t['compiled'], eager=t['eager'],
                                                       prep_s=prep, max_rel_diff=diff)
        print(f'{variant:8s} {dtype:4s} {"  compiled":22s} {t["compiled"] * 1e3:10.1f}ms '
              f'({args.compile_mode}; eager mmtwins {t["eager"] * 1e3:.1f}ms in the same run: '
              f'{t["eager"] / t["compiled"]:.2f}x; first calls {prep:.0f}s; outputs within '
              f'{diff:.1e} of eager)', flush=True)

    def share(flops, seconds, dtype):
        gflops = flops / seconds / 1e9
        return gflops, (f'{gflops:.0f} GFLOP/s = {100 * gflops / peaks[dtype]:.0f}% of '
                        f'matmul ({flops / 1e9:.1f} GFLOP)')

    for variant in ([] if args.only_segmentor else args.variants):
        ours, mmseg_model = build_pair(variant, device, need_mmseg='mmseg' in peers)
        models = dict(mmtwins=ours, mmseg=mmseg_model)
        if 'timm' in peers:
            try:
                models['mmtwins~timm'] = like_timm(ours)
                models['timm'] = build_timm(variant, models['mmtwins~timm'], device)
            except Exception as err:  # e.g. a timm without forward_intermediates
                if args.peers:
                    raise
                print(f'timm left out: {type(err).__name__}: {err}')
                peers = [p for p in peers if p != 'timm']
        diffs = check_same_weights({n: models.get(n) for n in ours_columns() + peers}, device)
        print(f'{variant}: same weights, outputs at 224x224 agree with mmtwins\' to '
              + ', '.join(f'{n} {d:.1e}' for n, d in diffs.items())
              + ' (largest difference / largest value)', flush=True)
        res = results['variants'][variant] = {'same_weights_max_rel_diff': diffs}
        flops_at = {}  # input shape -> the forward's FLOPs (the same in every precision)

        def forward_flops(x):
            if x.shape not in flops_at:
                flops_at[x.shape] = count_flops(lambda: ours.eval()(x), ours)['total']
            return flops_at[x.shape]
        for dtype in args.dtypes:
            batches = [('infer', args.infer_batch)] + (
                [('throughput', args.throughput_batch)] if args.throughput_batch else [])
            for (kind, batch), size in ((b, s) for b in batches for s in args.infer_sizes):
                h, w = parse_size(size)
                x = torch.randn(batch, 3, h, w, device=device)
                fns = {name: infer_fn(models[name], x, dtype)
                       for name in ours_columns() + peers}
                t = interleaved(fns, device, args.warmup, args.repeats)
                flops = forward_flops(x)
                gflops, extra = share(flops, t['mmtwins'], dtype)
                key = f'{dtype} {kind} {size}' if kind == 'infer' \
                    else f'{dtype} throughput {batch}x{size}'
                res[key] = dict(t, flops=flops, gflops=gflops, images_per_s=batch / t['mmtwins'])
                if kind == 'throughput':
                    extra = f'{batch / t["mmtwins"]:.1f} images/s, {extra}'
                row(variant, dtype, f'{kind} {batch}x3x{size}', t, extra)
                if args.profile:
                    profile_row(res[key], fns['mmtwins'])
                if args.attention_calls:
                    calls_table(res[key], x, dtype, train=False)
                if args.compile_mode and kind == 'infer':
                    compiled_row(res[key], variant, dtype, x, fns['mmtwins'])
            for size in args.train_sizes:
                h, w = parse_size(size)
                x = torch.randn(args.train_batch, 3, h, w, device=device)
                fns = {name: train_step_fn(models[name], x, dtype)
                       for name in ours_columns() + peers}
                t = interleaved(fns, device, 1, max(3, args.repeats // 2))
                # forward + backward: the backward's matmuls are about twice the forward's
                # (the gradients of inputs and of weights)
                flops = 3 * forward_flops(x)
                gflops, extra = share(flops, t['mmtwins'], dtype)
                res[f'{dtype} train {size}'] = dict(t, flops=flops, gflops=gflops)
                row(variant, dtype, f'train {args.train_batch}x3x{size}', t, extra)
                if args.profile:
                    profile_row(res[f'{dtype} train {size}'], fns['mmtwins'])
                if args.attention_calls:
                    calls_table(res[f'{dtype} train {size}'], x, dtype, train=True)
                if args.no_memory:
                    continue
                if device == 'cuda':  # in-process: the timed models stay where they are
                    mem = {name: cuda_peak(models[name], x, dtype)
                           for name in ours_columns() + peers}
                    mem['mmtwins+cp'] = peak_memory('mmtwins+cp', variant, size,
                                                    args.train_batch, device, dtype)
                else:
                    mem = {impl: peak_memory(impl, variant, size, args.train_batch, device, dtype)
                           for impl in ours_columns() + ['mmtwins+cp'] + peers}
                res[f'{dtype} train {size} peak memory'] = mem
                cells = ''.join(f'{mem[c] / 2**20:10.0f}MB ' for c in ours_columns() + peers) \
                    + ''.join(f'{mem[REFERENCE[p]] / mem[p]:6.2f}x ' for p in peers)
                print(f'{variant:8s} {dtype:4s} {"  peak memory":22s} {cells}with_cp: '
                      f'{mem["mmtwins+cp"] / 2**20:.0f}MB', flush=True)
        models = ours = mmseg_model = None
        if device == 'cuda':
            torch.cuda.empty_cache()
    if args.config_iter:
        t = config_iteration(args, device, UPERNET)
        results['config_iter'] = t
        print(f'{"svt_s":8s} {f"UPerNet iter {args.train_batch}x{args.config_crop}":28s} '
              f'{t["mmtwins"] * 1e3:8.1f}ms {t["mmseg"] * 1e3:8.1f}ms '
              f'{t["mmseg"] / t["mmtwins"]:8.2f}x')
    if args.segmentor or args.only_segmentor:
        paths = segmentor_paths(args, device, UPERNET)
        results['segmentor'] = paths
        base = paths.get('eager fp32', next(iter(paths.values())))['time']
        print(f'\nUPerNet-SVT-S, whole segmentor, inference 1x3x{args.config_crop} (logits at '
              f'input size)\n{"path":18s} {"time":>9s} {"speed-up":>9s} {"prep":>7s} '
              f'{"max rel. diff":>14s} {"same pixels":>12s}')
        for name, r in paths.items():
            prep = f'{r["prep_s"]:6.0f}s' if r['prep_s'] is not None else f'{"":7s}'
            print(f'{name:18s} {r["time"] * 1e3:7.1f}ms {base / r["time"]:8.2f}x {prep} '
                  f'{r["max_rel_diff"]:14.1e} {100 * r["same_pixels"]:11.3f}%')
        print('(speed-up over eager fp32; prep: compile time of the first call, or the ONNX '
              'export; differences against eager fp32 logits)')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == '__main__':
    os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
    sys.exit(main())
