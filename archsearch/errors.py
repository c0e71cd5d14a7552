"""Errors the command line reports as one line and exit code 2."""


class UsageError(ValueError):
    """Bad input from the user: a flag, path, file or value. The message says what is wrong
    and how to fix it."""


class DataError(UsageError):
    """Input data that cannot be used; the message says what is wrong and how to fix it."""


class RunFailed(RuntimeError):
    """A run that ended in a recorded state but could not do all it should (a final training
    that diverged twice): the command prints the one-line message and exits 1."""
