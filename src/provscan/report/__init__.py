"""How a scan is shown and exchanged: the JSON contract, the renderers and the observer seam."""

from __future__ import annotations
