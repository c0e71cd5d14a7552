"""The `archsearch` console command. Without a command name (`archsearch`, `--help`, `-h`,
`--version`) it answers from the light `commands` module without importing PyTorch, which
takes seconds; otherwise it imports the command line's own module here, so that Ctrl-C while
PyTorch loads ends the command with one line too."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from archsearch.commands import COMMANDS, light_parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line `argv` (default: `sys.argv[1:]`); its exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not any(arg in COMMANDS for arg in args):
        light_parser().parse_args(args)  # no command: help, version or an error, then exit
    try:
        from archsearch.cli import main as run
    except KeyboardInterrupt:
        print("\narchsearch: interrupted while starting; nothing was written", file=sys.stderr)
        return 130
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
