"""The one identification stage: evidence about a host → a judged device.

Every input (active scan, discovery, passive capture, later imports and sensors) collects
:class:`~provscan.model.HostEvidence` and calls :meth:`Identifier.device` for each host, then
:meth:`Identifier.finish` once for the whole result. Attribution (who made it), policy (which
selected measures restrict it) and posture (vulnerabilities, exposure, remediation) run here
and nowhere else, so every input reports the same things about the same evidence.
"""

from __future__ import annotations

from provscan.identify.stage import Identifier

__all__ = ["Identifier"]
