"""The error tree. Each seam raises its own subclass; the CLI maps them to messages."""

from __future__ import annotations


class ProvscanError(Exception):
    """Base of every error provscan reports to a user."""


class InputError(ProvscanError):
    """An input the user named is missing, unreadable or not what it should be.

    Commands exit 2 for these (a bad argument), 1 for failures at run time.
    """


class TargetError(InputError):
    """A target specification could not be parsed or is out of scope."""


class KnowledgeError(ProvscanError):
    """A knowledge data file is malformed or inconsistent."""


class StoreError(ProvscanError):
    """The scan database could not be opened or written."""


class StoreRequestError(StoreError, InputError):
    """What the user asked the store for does not exist or is not allowed (an unknown scan,
    device or case; a case change the rules refuse). Commands exit 2."""


class StoreRequestRefused(StoreRequestError):
    """A request the store understood and refuses as asked (a scan compared with itself):
    not a missing thing, so the API answers 400, not 404."""


class LabError(ProvscanError):
    """The device lab could not be started or stopped."""


class ProtocolError(ProvscanError):
    """A device's reply could not be parsed (hostile, truncated or malformed)."""
