"""The score of the last `make mutation` run, per mutated file, and the mutants that survived.

Reads `mutmut results --all true`; timeouts count as killed. Survivors listed in the table of
docs/testing.md are accepted equivalent mutants: counted apart, never silently dropped.
Exit status 1 when a file scores under the floor (95%).
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

FLOOR = 95.0
ROOT = Path(__file__).resolve().parent.parent
KILLED = {"killed", "timeout", "caught by type check", "segfault"}


def results() -> dict[str, str]:
    out = subprocess.run([str(Path(sys.executable).parent / "mutmut"), "results", "--all",
                          "true"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    pairs = (line.strip().rsplit(": ", 1) for line in out.splitlines() if ": " in line)
    return {name: status for name, status in pairs}


def accepted() -> set[str]:
    text = (ROOT / "docs" / "testing.md").read_text(encoding="utf-8")
    return set(re.findall(r"^\| `(sync\.[^`]+__mutmut_\d+)` \|", text, re.MULTILINE))


def main() -> int:
    found, equivalent = results(), accepted()
    by_file: dict[str, Counter[str]] = defaultdict(Counter)
    survivors: list[str] = []
    for name, status in sorted(found.items()):
        module = name.split(".x", 1)[0]
        kind = ("killed" if status in KILLED else
                "equivalent" if status == "survived" and name in equivalent else status)
        by_file[module][kind] += 1
        if kind not in ("killed", "equivalent"):
            survivors.append(f"{name}: {status}")
    ok = True
    for module, counts in sorted(by_file.items()):
        total = sum(counts.values())
        score = 100.0 * (counts["killed"] + counts["equivalent"]) / total if total else 0.0
        raw = 100.0 * counts["killed"] / total if total else 0.0
        ok = ok and score >= FLOOR
        detail = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
        print(f"{module.replace('.', '/')}.py: {score:.1f}% killed or accepted as equivalent "
              f"({raw:.1f}% killed) of {total} mutants: {detail}")
    stale = sorted(equivalent - {n for n, s in found.items() if s == "survived"})
    for name in stale:
        print(f"docs/testing.md accepts {name}, which did not survive: update the table")
    if survivors:
        print(f"\n{len(survivors)} mutants not killed (mutmut show NAME prints the change):")
        print("\n".join(f"  {s}" for s in survivors))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
