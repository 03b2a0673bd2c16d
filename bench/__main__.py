"""`python -m bench`: install the peers, run P1-P4, the content codings, the scaling table and
SEARCH, print the tables and write them to var/bench/results.md. `--quick` runs small sizes and
one round for development; `python -m bench codings` (or any parts named) runs those parts alone;
`python -m bench search --million` adds the 1,000,000-premises search row.
`python -m bench forged` runs the forged-token and sign-in flood benchmark alone;
`python -m bench storage [--mutations N]` the database growth under mixed mutations alone.
NATIONAL (PostgreSQL, bench/national.py) and SPREAD (bench/spread.py) are issue 14's scale runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time

from bench import burst, capacity, codings, dataset, initial_pull, peers
from bench import search as search_bench
from bench.report import table


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


def scaling(p1: dict[int, dict[str, initial_pull.Result]],
            p2: dict[tuple[int, int], list[burst.Outcome]]) -> str:
    rows = []
    for size, results in sorted(p1.items()):
        for name in ("Watchbook, 1 device (gzip)", "Watchbook, 1 device (identity)",
                     "Datasette (_next pages)", "pouchdb-server (_changes pages)",
                     "limit: SQLite + encode, in process"):
            if name in results:
                r = results[name]
                rows.append([size, name, r.wall, r.rows_per_s, r.cpu_per_k, len(r.samples)])
    text = table("Scaling P1: initial pull by size (medians)",
                 ["premises", "system", "wall s", "rows/s", "server CPU ms / 1k rows",
                  "rounds"], rows)
    rows = []
    for (size, fleet), outs in sorted(p2.items()):
        m = burst.medians(outs)
        rows.append([size, fleet, m["mutations"], m["wall s"], m["p50 ms"], m["p95 ms"],
                     m["p99 ms"], m["429s"], m["server CPU s"], m["limit push wall s"],
                     m["wall / limit"], m["peak RSS MB"], len(outs)])
    text += "\n" + table("Scaling P2: shift-change burst by fleet (medians)",
                         ["premises", "devices", "mutations", "wall s", "p50 ms", "p95 ms",
                          "p99 ms", "429s", "server CPU s", "limit wall s", "wall / limit",
                          "peak RSS MB", "rounds"], rows)
    return text


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["forged"]:
        from bench import forged
        return forged.main(argv[1:])
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--quick", action="store_true", help="small sizes, one round")
    p.add_argument("parts", nargs="*", metavar="PART",
                   help="parts to run, as for --only (e.g. codings, search)")
    p.add_argument("--only", default="P1,P2,CAP,CODINGS,P3,SLOW,PROFILE,SCALE,SEARCH,STORAGE,NATIONAL,SPREAD",
                   help="comma-separated parts to run (default %(default)s)")
    p.add_argument("--rounds", type=int, default=None, help="rounds per system (default 5)")
    p.add_argument("--premises", type=int, default=None, help="premises (default 20,000)")
    p.add_argument("--devices", type=int, default=None, help="P2 devices (default 500)")
    p.add_argument("--fleets", default=None,
                   help="P2 fleet sizes for the scaling table (default 50,500; 2000 takes "
                        "about 3 minutes a round here, so it is opt-in: --fleets 50,500,2000)")
    p.add_argument("--push-cap", type=int, default=None,
                   help="WATCHBOOK_MAX_CONCURRENT_PUSHES for P2's server (default: its own)")
    p.add_argument("--million", action="store_true",
                   help="SEARCH at 1,000,000 premises too (builds a 2.5 GB database once, "
                        "about 10 minutes; then about 2 minutes a run)")
    p.add_argument("--mutations", type=int, default=None,
                   help="STORAGE mutations per pattern (default 100,000 alone, 10,000 in "
                        "the whole run)")
    p.add_argument("--national", default=None,
                   help="NATIONAL premises sizes on PostgreSQL (default 20000,100000; "
                        "20000,100000,300000,1000000 takes about 15 minutes here)")
    p.add_argument("--spread-devices", type=int, default=None,
                   help="SPREAD fleet, one hot set against 12 stations (default 2,000)")
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["search"]:  # python -m bench search: SEARCH alone
        argv = ["--only", "SEARCH", *argv[1:]]
    if argv[:1] == ["storage"]:  # python -m bench storage: STORAGE alone
        argv = ["--only", "STORAGE", *argv[1:]]
    args = p.parse_args(argv)
    parts = {s.strip().upper() for s in (",".join(args.parts) or args.only).split(",")}
    n = args.premises or (2000 if args.quick else 20_000)
    rounds = args.rounds or (1 if args.quick else 5)
    devices = args.devices or (50 if args.quick else 500)
    env = {"WATCHBOOK_MAX_CONCURRENT_PUSHES": str(args.push_cap)} if args.push_cap else None

    started = time.monotonic()
    needs = ((peers.ensure_pouchdb, {"P1", "SCALE"}), (peers.ensure_wrk, {"CAP"}))
    notes = [note for ensure, users in needs if parts & users and (note := ensure())]
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

    p1: dict[int, dict[str, initial_pull.Result]] = {}
    p2: dict[tuple[int, int], list[burst.Outcome]] = {}
    if "P1" in parts:
        p1[n] = initial_pull.run(n, rounds, pouch=have_pouch)
        emit(initial_pull.report(n, p1[n]))
        emit(initial_pull.wire_report(n, p1[n]))
    if "P2" in parts:
        p2[(n, devices)] = [burst.run(n, devices, seed=11 + i, env=env)
                            for i in range(rounds)]
        emit(burst.report(n, p2[(n, devices)]))
    if "CAP" in parts:
        emit(capacity.report(capacity.run(n, seconds=2 if args.quick else 5,
                                          rounds=1 if args.quick else 3)))
    if "CODINGS" in parts:
        emit(codings.report(n, *codings.run(n, rounds)))
    if "P3" in parts:
        from bench import browser
        rev = os.environ.get("BENCH_P3_BEFORE", "main")  # the PWA to compare with
        after: list[browser.Round] = []
        before: list[browser.Round] = []
        old = browser.pwa_at(rev)
        for _ in range(1 if args.quick else 3):  # alternating, so load hits both alike
            before += browser.run(n, rounds=1, pwa_dir=old)
            after += browser.run(n, rounds=1)
        emit(browser.report(after))
        emit(browser.compare(before, after, rev))
        from bench import mainthread
        emit(mainthread.report(n, mainthread.run(n, pwa_dir=old), mainthread.run(n), rev))
    if "SLOW" in parts:
        from bench import slowlink
        emit(slowlink.report(slowlink.run((200,) if args.quick else (2000, 20_000))))
    if "PROFILE" in parts:
        from bench import profile
        emit(profile.report(f"pull of {n:,} premises, gzip", profile.profile_pull(n)))
        emit(profile.report(f"pull of {n:,} premises, identity",
                            profile.profile_pull(n, gzip=False)))
        emit(profile.report(f"P2 burst of {devices} devices",
                            profile.profile_burst(n, devices)))
    if "SCALE" in parts:
        sizes = (200, 2000) if args.quick else (2000, 20_000, 100_000)
        fleets = tuple(int(x) for x in args.fleets.split(",")) if args.fleets else (
            (10, 50) if args.quick else (50, 500))
        for size in sizes:
            if size not in p1:
                # pouchdb-server takes minutes to load 100,000 documents: up to 20,000 only
                p1[size] = initial_pull.run(size, 1 if size > 20_000 else 3,
                                            pouch=have_pouch and size <= 20_000,
                                            ten=size <= 20_000)
        for fleet in fleets:
            if (n, fleet) not in p2:
                p2[(n, fleet)] = [burst.run(n, fleet, env=env)]
        emit(scaling(p1, p2))
    if "SEARCH" in parts:
        sizes = [n] + ([1_000_000] if args.million else [])
        emit(search_bench.report({size: search_bench.run(size) for size in sizes}))
    if "STORAGE" in parts:
        from bench import storage
        alone = parts == {"STORAGE"}  # in the whole run 10,000 (100,000 take 20 min here)
        emit(storage.report(storage.run(n, args.mutations or (
            100_000 if alone and not args.quick else 10_000))))
    if "NATIONAL" in parts:
        from bench import national
        if national.binaries() is None:
            notes.append("NATIONAL skipped: no PostgreSQL (sudo apt-get install postgresql)")
        else:
            emit(national.report(national.run(tuple(int(x) for x in args.national.split(","))
                                              if args.national else (
                (2000, 20_000) if args.quick else (20_000, 100_000)))))
    if "SPREAD" in parts:
        from bench import spread
        emit(spread.main(n, args.spread_devices or (48 if args.quick else 2000)))
    for note in notes:
        emit(f"Note: {note}\n")
    emit(f"Total time: {time.monotonic() - started:.0f} s\n")
    path = dataset.ROOT / "results.md"
    path.write_text("\n".join(out))
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
