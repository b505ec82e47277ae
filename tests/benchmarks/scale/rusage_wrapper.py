"""``python -m tests.benchmarks.scale.rusage_wrapper OUT -- CMD…``: run CMD, write its peak RSS
(bytes) to OUT, exit with its status.

Linux counts a parent's resident memory at fork/exec into the child's ``ru_maxrss``, so a
child started straight from the (large) benchmark process would report at least the
benchmark's own peak. This wrapper is a small process (standard library only, ~10 MB), so
the command it starts is measured on its own."""

import os
import subprocess
import sys


def main() -> int:
    out, sep, *command = sys.argv[1:]
    assert sep == "--" and command, __doc__
    proc = subprocess.Popen(command)
    _, status, usage = os.wait4(proc.pid, 0)
    with open(out, "w", encoding="utf-8") as fh:
        fh.write(str(usage.ru_maxrss * 1024))
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    raise SystemExit(main())
