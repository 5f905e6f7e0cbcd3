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


def compiled_infer_fn(model, x, dtype='fp32', mode=None):
    """Inference of ``torch.compile(model, mode=mode)`` (a wrapper: ``model`` stays eager),
    specialised to ``x``'s shape; compiled (and, with ``mode='reduce-overhead'`` on a GPU, its
    CUDA graph recorded) by the first calls here. Returns the callable, the seconds those
    first calls took and the largest difference of its outputs from eager ones, relative to
    the largest eager value."""
    model.eval()
    torch._dynamo.reset()  # a fresh recompile budget per row

    compiled = torch.compile(model, mode=mode, dynamic=False)

    def run():
        # each call a new step of CUDA graph trees: the last call's outputs may be overwritten
        torch.compiler.cudagraph_mark_step_begin()
        with torch.no_grad(), autocast(x.device.type, dtype):
            return compiled(x)
    with torch.no_grad(), autocast(x.device.type, dtype):
        eager = [o.float() for o in _outputs(model(x))]
    start = time.perf_counter()
    for _ in range(3):  # cudagraph trees record on a later call than the first
        outs = [o.float() for o in _outputs(run())]
    sync(x.device.type)
    prep = time.perf_counter() - start
    diff = max(float((o - e).abs().max() / e.abs().max().clamp_min(1e-12))
               for o, e in zip(outs, eager))
    return run, prep, diff


def _outputs(out):
    return list(out) if isinstance(out, (list, tuple)) else [out]


#: the kinds of work a profile's time is sorted into, by aten op name (first match wins)
TIME_KINDS = (
    ('attention', ('scaled_dot_product', 'flash_attention', 'efficient_attention',
                   'cudnn_attention', 'softmax')),
    ('matmul', ('addmm', 'aten::mm', 'bmm', 'aten::matmul', 'aten::linear')),
    ('conv', ('convolution',)),
    ('copies', ('copy_', 'aten::cat', 'pad', 'clone', 'contiguous', 'fill_', 'zero_')),
    ('elementwise', ('layer_norm', 'gelu', 'aten::add', 'aten::mul', 'aten::sum',
                     'aten::div', 'aten::mean', 'threshold')),
)


def time_shares(fn, device):
    """Run ``fn`` once under torch's profiler; the share of its operator time spent in each
    of :data:`TIME_KINDS` (plus 'other'), by each operator's own (self) time."""
    from torch.profiler import ProfilerActivity, profile
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device == 'cuda' else [])
    with profile(activities=activities) as prof:
        fn()
        sync(device)
    shares = {kind: 0.0 for kind, _ in TIME_KINDS}
    shares['other'] = 0.0
    for event in prof.key_averages():
        spent = (event.self_device_time_total if device == 'cuda'
                 else event.self_cpu_time_total)
        kind = next((k for k, names in TIME_KINDS if any(n in event.key for n in names)),
                    'other')
        shares[kind] += spent
    total = sum(shares.values()) or 1.0
    return {kind: spent / total for kind, spent in shares.items()}


def format_shares(shares):
    return ', '.join(f'{kind} {100 * share:.0f}%' for kind, share in shares.items())
