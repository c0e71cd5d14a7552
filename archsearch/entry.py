"""The `archsearch` console command: the command line's own module is imported here, so that
Ctrl-C while PyTorch loads ends the command with one line too."""

from __future__ import annotations

import sys


def main() -> int:
    try:
        from archsearch.cli import main as run
    except KeyboardInterrupt:
        print("\narchsearch: interrupted while starting; nothing was written", file=sys.stderr)
        return 130
    return run()


if __name__ == "__main__":
    sys.exit(main())
