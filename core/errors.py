"""The one project error type: raised by rules and services with a message a clerk understands."""


class NcmsError(Exception):
    """A refusal or failure the user must read. `code` is a stable machine-readable key."""

    def __init__(self, message: str, *, code: str = "error"):
        super().__init__(message)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return self.message
