"""Run every benchmark and evaluation script in this folder and print their figures."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
ORDER = ("evaluate_", "bench_")
SEPARATE = ("evaluate_real.py",)  # needs ../shared/realdata; its own target, `make eval-real`


def main() -> int:
    scripts = sorted(
        (p for p in HERE.glob("*.py") if p.name.startswith(ORDER) and p.name not in SEPARATE),
        key=lambda p: (ORDER.index(next(o for o in ORDER if p.name.startswith(o))), p.name),
    )
    failed = []
    for script in scripts:
        print(f"\n=== {script.name}", flush=True)
        t0 = time.perf_counter()
        rc = subprocess.call([sys.executable, str(script)])
        print(f"--- {script.name}: exit {rc}, {time.perf_counter() - t0:.1f} s", flush=True)
        if rc:
            failed.append(script.name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
