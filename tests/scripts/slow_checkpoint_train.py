"""Run tools/train.py with checkpoint writing slowed down at one file, so that a test can
kill the job while that checkpoint is being written:

    python slow_checkpoint_train.py CHECKPOINT_NAME tools/train.py ARGS...

The write of CHECKPOINT_NAME stops for a minute after its bytes are written and before they
are made durable and renamed into place (inside mmtwins' atomic writer).
"""
import os
import runpy
import sys
import time

name, script = sys.argv[1], sys.argv[2]
real_fsync = os.fsync


def slow_fsync(fd):
    target = os.readlink(f'/proc/self/fd/{fd}')
    if os.path.basename(target).startswith(f'.{name}.'):
        print(f'[test] writing {target}', flush=True)
        time.sleep(60)
    return real_fsync(fd)


os.fsync = slow_fsync
sys.argv = [script] + sys.argv[3:]
runpy.run_path(script, run_name='__main__')
