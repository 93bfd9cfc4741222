"""CPU instructions per operation, this ENGINE against the stock backend: a repeatable count.

The operations are benchmarks/overhead.py's. Each runs ``--calls`` times under valgrind's
callgrind, which counts the instructions the client process executes. Only the measured calls
are counted: they run inside ``math.fsum()`` (which neither Django nor this package calls), and
callgrind collects only while that function runs (``--toggle-collect``) and writes one count
per call of it (``--dump-after``). With ``PYTHONHASHSEED`` fixed, the same code gives the same
count whatever else the machine does, where a shared VM's clock drifts by 10-30 % from one run
to the next (docs/dev/performance.md). User-space instructions only: the system calls and the
server's time are not in it; ``make bench`` measures those.

    python -m tests.support.mariadb_server run -- python benchmarks/instructions.py [--calls 200]

(``make bench-instructions`` does this; about two minutes.)
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import overhead

ENGINES = {"stock": "stock", "pooled": "default"}  # name -> overhead.py's alias
# overhead.py's options (a copy of this script also runs against older trees, for before/after).
POOL: dict[str, object] = getattr(overhead, "POOL", {"pool": {"pool_size": 5, "max_overflow": 0}})
WARM_UP = 30


def child(alias: str, calls: int) -> None:
    """Run every operation ``calls`` times inside one math.fsum() each (what callgrind counts)."""
    overhead.configure(POOL)
    for function in overhead.operations(alias).values():
        for _ in range(WARM_UP):
            function()

        def call(_: int, function: Callable[[], object] = function) -> float:
            function()
            return 0.0

        math.fsum(map(call, range(calls)))


def count(alias: str, calls: int) -> list[float]:
    """Instructions per call of each operation, in overhead.py's order."""
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "callgrind.out"
        subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--collect-atstart=no",
                "--toggle-collect=math_fsum",
                "--dump-after=math_fsum",
                "--callgrind-out-file=%s" % out,
                sys.executable,
                __file__,
                "--child",
                alias,
                "--calls",
                str(calls),
            ],
            env={**os.environ, "PYTHONHASHSEED": "0"},
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # out.1, out.2, ...: one dump per math.fsum() call, in order.
        dumps = sorted(Path(scratch).glob("callgrind.out.*"), key=lambda p: int(p.suffix[1:]))
        totals = []
        for dump in dumps:
            found = re.search(r"^totals: (\d+)", dump.read_text(), re.MULTILINE)
            assert found is not None, dump
            totals.append(int(found.group(1)) / calls)
        return totals


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.calls)
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (Debian: apt-get install valgrind)", file=sys.stderr)
        return 1
    overhead.configure(POOL)
    overhead.prepare()
    names = list(overhead.operations("stock"))
    counted = {engine: count(alias, args.calls) for engine, alias in ENGINES.items()}
    for engine, totals in counted.items():
        assert len(totals) == len(names), (engine, totals)
    print(
        "python=%s calls=%d (thousands of instructions per operation)"
        % (sys.version.split()[0], args.calls)
    )
    print("%-22s %9s %9s %7s %9s" % ("operation", "stock", "pooled", "ratio", "added"))
    for i, name in enumerate(names):
        stock, pooled = counted["stock"][i], counted["pooled"][i]
        print(
            "%-22s %9.1f %9.1f %6.3fx %+9.1f"
            % (name, stock / 1000, pooled / 1000, pooled / stock, (pooled - stock) / 1000)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
