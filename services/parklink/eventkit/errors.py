"""The project's error type: one line a user can act on, never a bare traceback."""


class ParkLinkError(Exception):
    """An error whose message is complete enough to be shown to the user as it is."""
