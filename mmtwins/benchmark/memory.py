"""Peak memory of one training step: in-process on CUDA, in a fresh process on the CPU
(``python -m mmtwins.benchmark.memory IMPL VARIANT SIZE BATCH DEVICE DTYPE``)."""
import json
import os
import subprocess
import sys
import time

import torch

from .peers import build_impl
from .timing import parse_size, train_step_fn


def _rss_bytes():
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


def cuda_peak(model, x, dtype):
    """Peak CUDA memory that one training step adds, in this process."""
    step = train_step_fn(model, x, dtype)
    step()  # warm-up: one-time buffers (kernels, workspaces) are not the step's memory
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    step()
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated() - base


def memory_worker(args):
    """One training step in this (fresh) process; prints the peak memory it added.

    On CPU: the peak resident set size above the level before the step, sampled every
    0.2 ms; the parent starts this process with glibc's mmap threshold fixed low, so
    tensors are returned to the OS when freed and the resident size follows the live
    tensors. (On CUDA ``max_memory_allocated`` is exact in-process: see :func:`cuda_peak`.)
    """
    import gc
    import threading
    impl, variant, size, batch, device, dtype = args
    h, w = parse_size(size)
    model = build_impl(impl, variant, device)
    x = torch.randn(int(batch), 3, h, w, device=device)
    if device == 'cuda':
        print(json.dumps(dict(peak_bytes=cuda_peak(model, x, dtype))))
        return
    step = train_step_fn(model, x, dtype)
    step()  # warm-up: one-time buffers are not the step's memory
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
    print(json.dumps(dict(peak_bytes=high[0] - base)))


def peak_memory(impl, variant, size, batch, device, dtype='fp32'):
    if device == 'cuda':  # exact in-process; models built here are freed after
        h, w = parse_size(size)
        model = build_impl(impl, variant, device)
        peak = cuda_peak(model, torch.randn(batch, 3, h, w, device=device), dtype)
        del model
        torch.cuda.empty_cache()
        return peak
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_='65536', MALLOC_TRIM_THRESHOLD_='0')
    proc = subprocess.run([sys.executable, '-m', 'mmtwins.benchmark.memory', impl, variant,
                           size, str(batch), device, dtype], capture_output=True, text=True,
                          env=env)
    if proc.returncode:
        raise RuntimeError(f'memory worker failed:\n{proc.stderr[-2000:]}')
    return json.loads(proc.stdout.strip().splitlines()[-1])['peak_bytes']


if __name__ == '__main__':
    memory_worker(sys.argv[1:])
