"""The container volumes in use, listed only when a volume is allocated: a mixin of the simulated node.

fakepve 0.5.0 lists every volume of every container and snapshot (`_taken_volumes`) on every config
write and creation, before it knows whether the write allocates a volume at all. A container's memory
change costs a walk of the whole cluster: ~38 ms at 10,000 guests, one write at a time, which made a
100-guest commit of the cluster benchmark wait ~3.5 s on the simulator alone. PVE does nothing of the
kind: a config write that allocates no volume (memory, cores, tags) reads no storage, and a new volume's
name is chosen by `PVE::Storage::vdisk_alloc` from the storage's own listing.

Here the set is the same fakepve would compute, computed on first use, so a write that allocates nothing
never lists it. Assumed, not fakepve's: a clone task lists the volumes when it allocates them (after its
pause) rather than when it starts, so it also avoids volumes allocated by another task meanwhile, as PVE
does (it allocates under the storage's lock, at the time of the copy). Used by
`gitops.demo.simulator.PhoenixFakePve`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator


class TakenVolumes:
    """A set of volume ids made by `compute` on the first question asked of it."""

    def __init__(self, compute: Callable[[], set[str]]) -> None:
        self._compute = compute
        self._taken: set[str] | None = None

    def _set(self) -> set[str]:
        if self._taken is None:
            self._taken = self._compute()
        return self._taken

    def __contains__(self, volume: object) -> bool:
        return volume in self._set()

    def __iter__(self) -> Iterator[str]:
        return iter(self._set())

    def __len__(self) -> int:
        return len(self._set())

    def add(self, volume: str) -> None:
        self._set().add(volume)


class LazyTakenVolumes:
    """Mixed in before FakePve: its `_taken_volumes`, listed when first asked."""

    def _taken_volumes(self) -> TakenVolumes:
        listing = super()._taken_volumes  # type: ignore[misc]
        return TakenVolumes(listing)
