"""Errors that carry a message meant for the person using the application."""


class UserInputError(ValueError):
    """Bad input: the message says what is wrong; nothing was changed."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFoundError(LookupError):
    """A record the user asked for does not exist (any more)."""
