"""`make bench`: every benchmark, each ending with its `BENCH name key=value ...` line."""

from __future__ import annotations

import sys

from bench import acd_quality, dialer, ingest, reports, routing, wallboard

BENCHES = {"ingest": ingest.main, "routing": routing.main, "acd_quality": acd_quality.main,
           "dialer": dialer.main, "reports": reports.main, "wallboard": wallboard.main}


def main() -> int:
    names = sys.argv[1:] or list(BENCHES)
    for name in names:
        if name not in BENCHES:
            print(f"unknown benchmark {name!r}; known: {', '.join(BENCHES)}", file=sys.stderr)
            return 2
        BENCHES[name]()
    return 0


if __name__ == "__main__":
    sys.exit(main())
