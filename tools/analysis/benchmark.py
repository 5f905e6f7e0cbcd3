#!/usr/bin/env python
"""Benchmark mmtwins' Twins backbones against mmsegmentation's PCPVT/SVT.

Both are built with the same architecture and loaded with the same weights; timings are
interleaved in one run (warm-up, then medians), so machine noise hits both alike.

    python tools/analysis/benchmark.py                       # SVT-S and PCPVT-S, the targets
    python tools/analysis/benchmark.py --variants svt_b --infer-sizes 512x512 --device cuda
    python tools/analysis/benchmark.py --config-iter          # also one UPerNet iteration

Prints, per variant: inference (no grad) and training-step (forward + backward) times of
both and their ratios; peak memory of a training step (each measured in a fresh process;
mmtwins with and without ``with_cp``); mmtwins' achieved GFLOP/s next to the machine's
measured fp32 matmul GFLOP/s.
"""
import argparse
import json
import os
import os.path as osp
import platform
import statistics
import subprocess
import sys
import time

import torch

from mmtwins.cli.backbone import ARCHS as VARIANTS


def parse_size(text):
    h, w = text.lower().split('x')
    return int(h), int(w)


def build_pair(variant, device, with_cp=False, need_mmseg=True):
    """mmtwins' backbone and mmseg's, same architecture, same (random) weights."""
    import mmtwins.models as mm
    from mmtwins.checkpoint import check_state_dict, to_mmtwins
    cls_name, arch = VARIANTS[variant]
    ours = getattr(mm, cls_name)(arch=arch, with_cp=with_cp)
    ours.init_weights()
    theirs = None
    if need_mmseg:
        from mmseg.models.backbones import PCPVT, SVT
        a = ours.arch_settings
        kwargs = dict(embed_dims=a['embed_dims'], depths=a['depths'], num_heads=a['num_heads'],
                      mlp_ratios=a['mlp_ratios'], sr_ratios=a['sr_ratios'],
                      patch_sizes=[4, 2, 2, 2], strides=[4, 2, 2, 2], qkv_bias=True,
                      drop_path_rate=0.0)
        if cls_name == 'TwinsSVT':
            theirs = SVT(windiow_sizes=a['window_sizes'], norm_after_stage=True, **kwargs)
        else:
            theirs = PCPVT(norm_after_stage=False, **kwargs)
        theirs.init_weights()
        converted = to_mmtwins(theirs.state_dict(), fmt='mmseg')['state_dict']
        ours.load_state_dict(check_state_dict(ours, converted)['matched'])
        theirs.to(device)
    return ours.to(device), theirs


def sync(device):
    if device == 'cuda':
        torch.cuda.synchronize()


def timed(fn, device):
    sync(device)
    start = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - start


def interleaved(fns, device, warmup, repeats):
    """Median seconds of each callable, run in alternating order after warm-up."""
    names = list(fns)
    for _ in range(warmup):
        for name in names:
            fns[name]()
    times = {name: [] for name in names}
    for r in range(repeats):
        order = names if r % 2 == 0 else names[::-1]
        for name in order:
            times[name].append(timed(fns[name], device))
    return {name: statistics.median(t) for name, t in times.items()}


def matmul_gflops(device, n=2048, repeats=10):
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    for _ in range(3):
        a @ b
    t = statistics.median(timed(lambda: a @ b, device) for _ in range(repeats))
    return 2 * n ** 3 / t / 1e9


def train_step_fn(model, x):
    model.train()

    def step():
        for p in model.parameters():
            p.grad = None
        outs = model(x)
        sum(o.float().mean() for o in outs).backward()
    return step


def infer_fn(model, x):
    model.eval()

    def run():
        with torch.no_grad():
            model(x)
    return run


def _rss_bytes():
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


def memory_worker(args):
    """One training step in this (fresh) process; prints the peak memory it added.

    On CUDA: ``max_memory_allocated``. On CPU: the peak resident set size above the level
    before the step, sampled every 0.2 ms; the parent starts this process with glibc's
    mmap threshold fixed low, so tensors are returned to the OS when freed and the
    resident size follows the live tensors.
    """
    import threading
    impl, variant, size, batch, device = args
    h, w = parse_size(size)
    ours, theirs = build_pair(variant, device, with_cp=impl == 'mmtwins+cp',
                              need_mmseg=impl == 'mmseg')
    model = theirs if impl == 'mmseg' else ours
    ours = theirs = None
    x = torch.randn(int(batch), 3, h, w, device=device)
    step = train_step_fn(model, x)
    step()  # warm-up: one-time buffers (kernels, caches) are not the step's memory
    if device == 'cuda':
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        step()
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() - base
    else:
        import gc
        gc.collect()
        base = _rss_bytes()
        high = [base]
        done = threading.Event()

        def sample():
            while not done.is_set():
                high[0] = max(high[0], _rss_bytes())
                time.sleep(0.0002)
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        step()
        done.set()
        sampler.join()
        peak = high[0] - base
    print(json.dumps(dict(peak_bytes=peak)))


def peak_memory(impl, variant, size, batch, device):
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_='65536', MALLOC_TRIM_THRESHOLD_='0')
    proc = subprocess.run([sys.executable, osp.abspath(__file__), '--_memory-worker', impl,
                           variant, size, str(batch), device], capture_output=True, text=True,
                          env=env)
    if proc.returncode:
        raise RuntimeError(f'memory worker failed:\n{proc.stderr[-2000:]}')
    return json.loads(proc.stdout.strip().splitlines()[-1])['peak_bytes']


def config_iteration(args, device):
    """One training iteration of a whole UPerNet config: ours against mmseg's own."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    import mmseg
    ours_cfg = Config.fromfile(osp.join(osp.dirname(osp.dirname(osp.dirname(
        osp.abspath(__file__)))), 'configs', 'upernet_twins_svt_s_ade20k.py'))
    theirs_cfg = Config.fromfile(osp.join(osp.dirname(mmseg.__file__), '.mim', 'configs',
                                          'twins', 'twins_svt-s_uperhead_8xb2-160k_ade20k-'
                                          '512x512.py'))
    h, w = parse_size(args.config_crop)
    models = {}
    for name, cfg in (('mmtwins', ours_cfg), ('mmseg', theirs_cfg)):
        cfg.model.backbone.init_cfg = None
        cfg.model.backbone.drop_path_rate = 0.0
        from mmtwins.cli.devices import replace_norm_type
        if device == 'cpu':
            replace_norm_type(cfg.model, 'SyncBN', 'BN')
        # constructor initialisation is enough for timing (init_weights logs every tensor)
        models[name] = MODELS.build(cfg.model).to(device)
    imgs = torch.randn(args.train_batch, 3, h, w, device=device)
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    samples = []
    for _ in range(args.train_batch):
        s = SegDataSample(metainfo=dict(img_shape=(h, w), pad_shape=(h, w), ori_shape=(h, w)))
        s.gt_sem_seg = PixelData(data=torch.randint(0, 150, (1, h, w), device=device))
        samples.append(s)
    fns = {}
    for name, model in models.items():
        opt = torch.optim.AdamW(model.parameters(), lr=1e-5)

        def step(model=model, opt=opt):
            model.train()
            opt.zero_grad()
            losses = model.loss(imgs, samples)
            sum(v for k, v in losses.items() if 'loss' in k).backward()
            opt.step()
        fns[name] = step
    return interleaved(fns, device, warmup=1, repeats=args.config_repeats)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--variants', nargs='+', default=['svt_s', 'pcpvt_s'],
                        choices=sorted(VARIANTS))
    parser.add_argument('--infer-sizes', nargs='+', default=['512x512', '800x1344'])
    parser.add_argument('--infer-batch', type=int, default=1)
    parser.add_argument('--train-size', default='512x512')
    parser.add_argument('--train-batch', type=int, default=2)
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=7)
    parser.add_argument('--no-memory', action='store_true', help='skip peak memory')
    parser.add_argument('--config-iter', action='store_true',
                        help='also time one UPerNet SVT-S training iteration, ours vs mmseg')
    parser.add_argument('--config-crop', default='512x512')
    parser.add_argument('--config-repeats', type=int, default=3)
    parser.add_argument('--json', help='also write the results here')
    parser.add_argument('--_memory-worker', nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._memory_worker:
        return memory_worker(args._memory_worker)

    device = args.device
    torch.manual_seed(0)
    from mmtwins.utils.flops import count_flops
    peak = matmul_gflops(device)
    hardware = (torch.cuda.get_device_name() if device == 'cuda'
                else platform.processor() or platform.machine())
    print(f'mmtwins benchmark {time.strftime("%Y-%m-%d")}: torch {torch.__version__}, '
          f'{device} ({hardware}, {torch.get_num_threads()} threads), fp32, medians of '
          f'{args.repeats} after {args.warmup} warm-up')
    print(f'measured fp32 matmul (2048^3): {peak:.1f} GFLOP/s\n')
    results = dict(matmul_gflops=peak, device=device, variants={})
    header = f'{"variant":8s} {"workload":28s} {"mmtwins":>10s} {"mmseg":>10s} {"speed-up":>9s}'
    print(header)
    print('-' * len(header))
    for variant in args.variants:
        ours, theirs = build_pair(variant, device)
        res = results['variants'][variant] = {}
        for size in args.infer_sizes:
            h, w = parse_size(size)
            x = torch.randn(args.infer_batch, 3, h, w, device=device)
            t = interleaved({'mmtwins': infer_fn(ours, x), 'mmseg': infer_fn(theirs, x)},
                            device, args.warmup, args.repeats)
            flops = count_flops(lambda: ours.eval()(x), ours)['total']
            gflops = flops / t['mmtwins'] / 1e9
            res[f'infer {size}'] = dict(t, flops=flops, gflops=gflops)
            print(f'{variant:8s} {f"infer {args.infer_batch}x3x{size}":28s} '
                  f'{t["mmtwins"] * 1e3:8.1f}ms {t["mmseg"] * 1e3:8.1f}ms '
                  f'{t["mmseg"] / t["mmtwins"]:8.2f}x   mmtwins {gflops:.1f} GFLOP/s = '
                  f'{100 * gflops / peak:.0f}% of matmul ({flops / 1e9:.1f} GFLOP)')
        h, w = parse_size(args.train_size)
        x = torch.randn(args.train_batch, 3, h, w, device=device)
        t = interleaved({'mmtwins': train_step_fn(ours, x), 'mmseg': train_step_fn(theirs, x)},
                        device, 1, max(3, args.repeats // 2))
        res[f'train {args.train_size}'] = t
        print(f'{variant:8s} {f"train {args.train_batch}x3x{args.train_size}":28s} '
              f'{t["mmtwins"] * 1e3:8.1f}ms {t["mmseg"] * 1e3:8.1f}ms '
              f'{t["mmseg"] / t["mmtwins"]:8.2f}x')
        ours = theirs = None  # free them before the memory workers run
        if not args.no_memory:
            mem = {impl: peak_memory(impl, variant, args.train_size, args.train_batch, device)
                   for impl in ('mmtwins', 'mmtwins+cp', 'mmseg')}
            res['peak_memory'] = mem
            print(f'{variant:8s} {"train peak memory":28s} {mem["mmtwins"] / 2**20:8.0f}MB '
                  f'{mem["mmseg"] / 2**20:8.0f}MB {mem["mmtwins"] / mem["mmseg"]:8.2f}x   '
                  f'with_cp: {mem["mmtwins+cp"] / 2**20:.0f}MB = '
                  f'{mem["mmtwins+cp"] / mem["mmseg"]:.2f}x of mmseg')
    if args.config_iter:
        t = config_iteration(args, device)
        results['config_iter'] = t
        print(f'{"svt_s":8s} {f"UPerNet iter {args.train_batch}x{args.config_crop}":28s} '
              f'{t["mmtwins"] * 1e3:8.1f}ms {t["mmseg"] * 1e3:8.1f}ms '
              f'{t["mmseg"] / t["mmtwins"]:8.2f}x')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == '__main__':
    os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
    sys.exit(main())
