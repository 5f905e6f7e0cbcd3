"""What the CPU offers for bf16: native matrix instructions (AMX, AVX512-BF16) or none."""
import functools
import sys
from typing import Tuple


def cpu_flags() -> set:
    """The CPU's feature flags as the kernel reports them (Linux), else an empty set."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('flags'):
                    return set(line.split(':', 1)[1].split())
    except OSError:
        pass
    return set()


@functools.lru_cache(maxsize=None)
def cpu_bf16() -> Tuple[bool, str]:
    """``(native, description)``: whether bf16 matrix products run on native instructions,
    which torch's oneDNN uses for bf16 autocast on the CPU."""
    flags = cpu_flags()
    if 'amx_bf16' in flags:
        return True, 'native (AMX)'
    if 'avx512_bf16' in flags:
        return True, 'native (AVX512-BF16, no AMX)'
    if not flags:
        return False, ('unknown (no /proc/cpuinfo): bf16 autocast may be slower than fp32 '
                       'on this CPU')
    return False, ('not native (neither AMX nor AVX512-BF16): bf16 autocast will be slower '
                   'than fp32 on this CPU')


_warned = []


def warn_if_bf16_is_slow() -> None:
    """Print once per process that bf16 will be slow here, where it will."""
    native, description = cpu_bf16()
    if not native and not _warned:
        _warned.append(True)
        print(f'[mmtwins] warning: CPU bf16 is {description}', file=sys.stderr, flush=True)
