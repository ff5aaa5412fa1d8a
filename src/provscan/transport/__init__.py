"""The transport seam between probes and the network.

``interface`` (the :class:`Stream` protocol and the failure tree under
:class:`~provscan.errors.ProvscanError`), ``limits`` (the named scan limits), ``tcp`` (bounded
TCP/TLS streams, the only place sockets to devices are opened), ``udp`` (the one bounded UDP
exchange: send datagrams, collect parsed replies until a deadline, capping size, replies per
source and in all, counting what it drops; discovery's protocols are adapted to it in
:mod:`provscan.discovery.transport`) and ``memory`` (the scripted in-memory twins for tests: a
stream for TCP, a datagram network for UDP).
"""
