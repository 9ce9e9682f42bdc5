"""`make bench`: every benchmark, each ending with its `BENCH name key=value ...` line."""

from __future__ import annotations

import sys

from bench import ingest


def main() -> int:
    names = sys.argv[1:] or ["ingest"]
    for name in names:
        if name == "ingest":
            ingest.main()
        else:
            print(f"unknown benchmark {name!r}; known: ingest", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
