"""The benchmark's table of attention calls: each distinct call a forward makes, timed with each
kernel (torch's fused SDPA and the explicit matmul + softmax path), and the kernel ``'auto'``
takes for it, so a rule of :func:`mmtwins.models.layers.attention.auto_kernel` can be checked
(or set) on a new machine, GPU or CPU, from data per call."""
from collections import OrderedDict

import torch

from mmtwins.models.layers.attention import attention, observe_attention_calls, resolve_attn_impl
from .timing import autocast, interleaved

KERNELS = ('sdpa', 'math')


def record_calls(model, x, dtype='fp32', train=False):
    """The distinct attention calls of one forward of ``model`` on ``x`` (in training mode
    with gradients when ``train``), in order of first use: dicts of the shapes of ``q`` and
    ``k``, the mask (the first call's, or None), the tensors' dtype and how many calls."""
    calls = OrderedDict()

    def see(q, k, v, mask):
        key = (tuple(q.shape), tuple(k.shape), None if mask is None else tuple(mask.shape),
               q.dtype)
        if key not in calls:
            calls[key] = dict(q=key[0], k=key[1], dtype=q.dtype, count=0,
                              mask=None if mask is None else mask.detach().clone())
        calls[key]['count'] += 1

    model.train(train)
    with observe_attention_calls(see), torch.set_grad_enabled(train), \
            autocast(x.device.type, dtype):
        model(x)
    model.eval()
    return list(calls.values())


def call_fn(call, device, dtype, train, impl):
    """One attention call of ``call``'s shapes with kernel ``impl`` (forward, and backward
    when ``train``), under the autocast of ``dtype``."""
    def tensor(shape):
        return torch.randn(shape, device=device, dtype=call['dtype'], requires_grad=train)
    q, k, v = tensor(call['q']), tensor(call['k']), tensor(call['k'])
    grad = torch.ones(call['q'], device=device, dtype=call['dtype']) if train else None

    def run():
        with torch.set_grad_enabled(train), autocast(device, dtype):
            out = attention(q, k, v, attn_mask=call['mask'], attn_impl=impl)
        if train:
            out.backward(grad)
    return run, (q, k)


def time_calls(calls, device, dtype='fp32', train=False, warmup=2, repeats=5):
    """Each call timed with each of :data:`KERNELS`; adds to each call dict ``time`` (seconds
    by kernel), ``auto`` (the kernel ``'auto'`` takes) and ``best``."""
    for call in calls:
        fns, tensors = {}, None
        for impl in KERNELS:
            fns[impl], tensors = call_fn(call, device, dtype, train, impl)
        call['time'] = interleaved(fns, device, warmup, repeats)
        q, k = tensors
        with torch.set_grad_enabled(train):
            call['auto'] = resolve_attn_impl('auto', q, k)
        call['best'] = min(KERNELS, key=call['time'].get)
    return calls


def totals(calls):
    """Seconds per forward (each call times its count) with each kernel, with ``'auto'``'s
    choices, and with the faster kernel of each call."""
    out = {impl: sum(c['count'] * c['time'][impl] for c in calls) for impl in KERNELS}
    out['auto'] = sum(c['count'] * c['time'][c['auto']] for c in calls)
    out['best'] = sum(c['count'] * c['time'][c['best']] for c in calls)
    return out


def format_calls(calls, indent=''):
    """The table's lines: one per distinct call, then the totals."""
    lines = [f'{indent}{"calls":>5s}  {"q (batch, heads, queries, dim)":32s} {"keys":>6s} '
             f'{"mask":>5s} {"sdpa":>9s} {"math":>9s}  auto  faster']
    for c in calls:
        t = c['time']
        lines.append(f'{indent}{c["count"]:5d}  {str(c["q"]):32s} {c["k"][-2]:6d} '
                     f'{"yes" if c["mask"] is not None else "-":>5s} '
                     f'{t["sdpa"] * 1e3:7.2f}ms {t["math"] * 1e3:7.2f}ms  {c["auto"]:4s}  '
                     f'{c["best"]} {max(t.values()) / min(t.values()):.2f}x')
    s = totals(calls)
    lines.append(f'{indent}per forward: sdpa {s["sdpa"] * 1e3:.2f}ms, '
                 f'math {s["math"] * 1e3:.2f}ms, '
                 f"'auto' {s['auto'] * 1e3:.2f}ms, the faster of each call "
                 f'{s["best"] * 1e3:.2f}ms (\'auto\' takes {s["auto"] / s["best"]:.2f}x that)')
    return lines


def as_json(calls):
    return [dict(q=list(c['q']), k=list(c['k']), dtype=str(c['dtype']), count=c['count'],
                 mask=c['mask'] is not None, time=c['time'], auto=c['auto'], best=c['best'])
            for c in calls]
