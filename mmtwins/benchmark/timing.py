"""The timing harness of tools/analysis/benchmark.py: interleaved medians, the machine's
matmul rate, one inference or training step of a backbone, autocast by name."""
import contextlib
import statistics
import time

import torch


def parse_size(text):
    h, w = text.lower().split('x')
    return int(h), int(w)


DTYPES = {'fp32': None, 'bf16': torch.bfloat16, 'fp16': torch.float16}


def autocast(device, dtype):
    """Autocast to ``dtype`` ('bf16', 'fp16'), or nothing for 'fp32'."""
    if DTYPES[dtype] is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device, dtype=DTYPES[dtype])


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


def matmul_gflops(device, n=2048, repeats=10, dtype='fp32'):
    a = torch.randn(n, n, device=device, dtype=DTYPES[dtype] or torch.float32)
    b = torch.randn(n, n, device=device, dtype=DTYPES[dtype] or torch.float32)
    for _ in range(3):
        a @ b
    t = statistics.median(timed(lambda: a @ b, device) for _ in range(repeats))
    return 2 * n ** 3 / t / 1e9


def train_step_fn(model, x, dtype='fp32'):
    model.train()

    def step():
        for p in model.parameters():
            p.grad = None
        with autocast(x.device.type, dtype):
            outs = model(x)
            loss = sum(o.float().mean() for o in outs)
        loss.backward()
    return step


def infer_fn(model, x, dtype='fp32'):
    model.eval()

    def run():
        with torch.no_grad(), autocast(x.device.type, dtype):
            model(x)
    return run
