"""The transport seam between probes and the network.

``interface`` (the :class:`Stream` protocol and the failure tree under
:class:`~provscan.errors.ProvscanError`), ``limits`` (the named scan limits), ``tcp`` (bounded
TCP/TLS streams, the only place sockets to devices are opened) and ``memory`` (the scripted
in-memory twin for tests). Discovery's UDP sockets are in :mod:`provscan.discovery.transport`.
"""
