"""Discovery: devices that announce themselves (WS-Discovery, SADP, DHDiscover, SSDP/UPnP,
mDNS) and the MACs of a local segment (ARP). Each protocol is a thin UDP transport over the
pure codecs in :mod:`provscan.wire`; ``runner`` plans where to send and merges the replies."""
