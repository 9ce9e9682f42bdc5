"""The asterisk package's error family. Every error carries the context it was raised in."""

from __future__ import annotations


class AmiError(Exception):
    """Base of every error raised by asterisk/."""

    def __init__(self, message: str, /, **context: object) -> None:
        self.context = context
        detail = " ".join(f"{k}={v!r}" for k, v in context.items())
        super().__init__(f"{message} ({detail})" if detail else message)


class AmiConnectError(AmiError):
    """The TCP connection could not be made or was refused."""


class AmiLoginError(AmiError):
    """Asterisk refused the credentials."""


class AmiProtocolError(AmiError):
    """The peer sent something that is not AMI (no banner, unparseable data)."""


class AmiDisconnected(AmiError):
    """The link went away before the action completed.

    `maybe_ran` is true when Asterisk may already have carried the action out
    (it was written to the socket): the caller must reconcile, never resend blindly.
    """

    def __init__(self, message: str, /, *, maybe_ran: bool, **context: object) -> None:
        self.maybe_ran = maybe_ran
        super().__init__(message, maybe_ran=maybe_ran, **context)


class AmiTimeout(AmiError):
    """No response within the action's timeout."""


class AmiActionError(AmiError):
    """Asterisk answered `Response: Error` (or Failure)."""

    def __init__(self, message: str, /, *, response: object = None, **context: object) -> None:
        self.response = response
        super().__init__(message, **context)


class AgiError(AmiError):
    """An AGI command could not be queued or returned a non-200 status."""


class AgiChannelGone(AgiError):
    """The channel left AsyncAGI (hang-up, redirect) before the command completed."""
