"""The observation layer: one module per protocol turning a parsed message into observations.

``wire`` parses bytes into values; the functions here map those values to
:class:`~provscan.model.Observation` (field names: docs/observation-fields.md). Active
probes, discovery and passive analysis all call them, so one message yields the same
fields and values whichever way it was seen. Pure: no I/O, and nothing from the stages
that use it (only ``wire``, ``model``, ``knowledge`` and the base ``errors`` are imported).
"""
