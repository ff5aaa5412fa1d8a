"""Pure wire codecs: functions of bytes to values and back, with no I/O.

Every parser raises :class:`provscan.errors.ProtocolError` (and nothing else) on input it
cannot make sense of, so that a hostile device can never crash a probe.
"""
