"""Prometheus metrics, computed from the ledger and the controller's counters at each scrape.

Used by `gitops.api.app` (`GET /metrics`). A private registry per app, so tests can build several apps.
`deploy/grafana-dashboard.json` and `deploy/prometheus-alerts.yaml` are built on these names: rename
none (tests/deploy/test_observability.py checks every name they use is exported here).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gitops import version
from gitops.controller import targetstates
from gitops.store import REVISION_STATUSES, Store

COUNTERS = {
    "reconciles": "reconciles run",
    "applied": "revisions applied",
    "failed": "revisions whose apply failed",
    "rejected": "revisions rejected as invalid",
    "auto_rollbacks": "automatic rollbacks after a failed apply",
    "heals": "drift corrections (self-heal)",
}


class LedgerCollector(Collector):
    def __init__(self, store: Store, stats: Callable[[], dict[str, float]], leader: Callable[[], bool],
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> None:
        self.store = store
        self.stats = stats
        self.leader = leader
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        built = version.build_info()
        build = GaugeMetricFamily("phoenix_build_info", "the running phoenix-gitops: version and Python",
                                  labels=sorted(built))
        build.add_metric([built[k] for k in sorted(built)], 1.0)
        yield build
        state = self.store.get_state()
        revisions = GaugeMetricFamily("phoenix_revisions", "revisions in the ledger by status", labels=["status"])
        for status in REVISION_STATUSES:
            revisions.add_metric([status], self.store.count_revisions(status=status))
        yield revisions
        yield _gauge("phoenix_drift", "1 when live state differs from the applied revision", state.drift)
        counts = targetstates.read(self.store).counts()
        resources = GaugeMetricFamily("phoenix_resources", "managed resources by sync state", labels=["state"])
        for name in targetstates.STATES:
            resources.add_metric([name], float(counts.get(name, 0)))
        yield resources
        yield _gauge("phoenix_suspended", "1 when automatic applies are suspended", state.suspended)
        yield _gauge("phoenix_pinned", "1 when a rollback pins a revision", state.pinned)
        yield _gauge("phoenix_leader", "1 when this replica leads", self.leader())
        info = GaugeMetricFamily("phoenix_applied_revision_info", "the applied revision", labels=["sha"])
        if state.applied_revision:
            info.add_metric([state.applied_revision], 1.0)
        yield info
        stats = self.stats()
        for name, help_text in COUNTERS.items():
            counter = CounterMetricFamily(f"phoenix_{name}", help_text)
            counter.add_metric([], stats.get(name, 0.0))
            yield counter
        yield _gauge("phoenix_last_reconcile_seconds", "duration of the last converge",
                     stats.get("last_reconcile_s", 0.0))
        yield from self._outbox()

    def _outbox(self) -> Iterator[Metric]:
        """Each outbox consumer's backlog (notification targets, deploy statuses), from its cursor."""
        pending = GaugeMetricFamily("phoenix_outbox_pending_events",
                                    "events an outbox consumer has not handled yet", labels=["consumer"])
        age = GaugeMetricFamily("phoenix_outbox_oldest_pending_seconds",
                                "age of the oldest event an outbox consumer has not handled (0 when none)",
                                labels=["consumer"])
        now = self.clock()
        for backlog in self.store.outbox_backlog():
            pending.add_metric([backlog.consumer], float(backlog.pending))
            oldest = backlog.oldest_at
            age.add_metric([backlog.consumer], max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
        yield pending
        yield age


def _gauge(name: str, help_text: str, value: float | bool) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, help_text, value=float(value))


def make_registry(store: Store, stats: Callable[[], dict[str, float]], leader: Callable[[], bool]) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(LedgerCollector(store, stats, leader))
    return registry


def render(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
