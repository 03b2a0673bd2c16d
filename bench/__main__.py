"""`python -m bench`: install the peers, run P1-P4 and the scaling table, print the tables and
write them to var/bench/results.md. `--quick` runs small sizes and one round for development.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time

from bench import dataset, initial_pull, peers


def machine() -> str:
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, Linux {platform.release()}, "
            f"Python {platform.python_version()}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--quick", action="store_true", help="small sizes, one round")
    p.add_argument("--only", default="P1,P2,P4,P3,scale",
                   help="comma-separated parts to run (default %(default)s)")
    p.add_argument("--rounds", type=int, default=None, help="rounds per system (default 5)")
    p.add_argument("--premises", type=int, default=None, help="premises (default 20,000)")
    args = p.parse_args(argv)
    parts = {s.strip().upper() for s in args.only.split(",")}
    n = args.premises or (2000 if args.quick else 20_000)
    rounds = args.rounds or (1 if args.quick else 5)

    started = time.monotonic()
    notes = [n for n in (peers.ensure_pouchdb(), peers.ensure_wrk()) if n]
    have_pouch = peers.POUCHDB_BIN.exists()
    head = (f"# Watchbook benchmarks, {dt.datetime.now().isoformat(timespec='minutes')}\n\n"
            f"Machine: {machine()}\nCommand: python -m bench {' '.join(argv or sys.argv[1:])}\n")
    rows, size = dataset.stats(n)
    head += f"Data: {rows:,} demo premises, {size / rows:,.0f} bytes of JSON each on average\n"
    out = [head]
    print(head, flush=True)

    def emit(text: str) -> None:
        out.append(text)
        print(text, flush=True)

    if "P1" in parts:
        emit(initial_pull.report(n, initial_pull.run(n, rounds, peers=have_pouch)))
    for note in notes:
        emit(f"Note: {note}\n")
    emit(f"Total time: {time.monotonic() - started:.0f} s\n")
    path = dataset.ROOT / "results.md"
    path.write_text("\n".join(out))
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
