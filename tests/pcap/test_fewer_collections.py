"""The analysis runs with fewer garbage collections (issue 14): the collector's thresholds are
raised for the batch and restored after, and cyclic garbage is still collected on its own
(memory stays bounded), only less often."""

from __future__ import annotations

import gc
import weakref

from provscan.passive import BATCH_GC_THRESHOLD, fewer_collections


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the collector frees it


def test_thresholds_are_raised_and_restored() -> None:
    before = gc.get_threshold()
    with fewer_collections():
        assert gc.get_threshold()[0] == BATCH_GC_THRESHOLD
    assert gc.get_threshold() == before


def test_thresholds_are_restored_after_an_error() -> None:
    before = gc.get_threshold()
    try:
        with fewer_collections():
            raise RuntimeError("analysis failed")
    except RuntimeError:
        pass
    assert gc.get_threshold() == before


def test_cyclic_garbage_is_still_collected_without_asking() -> None:
    assert gc.isenabled()
    with fewer_collections():
        first = Node()
        probe = weakref.ref(first)
        del first
        # allocate several thresholds' worth of cycles; no explicit gc.collect()
        for _ in range(4 * BATCH_GC_THRESHOLD):
            Node()
        assert probe() is None
