"""What can go wrong in a DOI lookup, as exceptions whose text is the one line shown to the user.

Each message says what happened and what to try, because the person running `kb new` cannot fix a
network fault from a traceback. The kinds differ in what a caller does next: `kb check-dois` reports an
unknown DOI or an odd record against that entry and goes on, but stops at a `ServiceError`, since every
further request would fail the same way and only add load to a struggling service.
"""

from __future__ import annotations


class DoiError(Exception):
    """A lookup that cannot go on; `str(error)` is the message for the user."""


class NotFoundError(DoiError):
    """No registration agency knows the DOI."""


class ServiceError(DoiError):
    """The service failed: no connection, timeouts, rate limiting, server errors, or a refused request."""


class BadResponseError(DoiError):
    """The service answered, but not with metadata we can read (not JSON, truncated, wrong shape)."""


class SettingsError(DoiError):
    """An environment variable or option holds a value the lookup cannot use."""


class InputError(DoiError):
    """What was typed is not a DOI; found before any request is made."""
