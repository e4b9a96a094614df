"""Errors a user or a model can cause. The CLI turns them into one line and an exit code;
anything else is a bug and keeps its traceback."""


class SleuthError(Exception):
    """A problem the user can fix (bad input, missing workspace, unknown alert)."""

    exit_code = 1


class WorkspaceMissing(SleuthError):
    """The workspace database does not exist yet."""


class NotFound(SleuthError):
    """An alert, account, case or run that does not exist."""


class InputInvalid(SleuthError):
    """A file or argument that fails validation."""

    exit_code = 2
