"""The outbox on a real reconcile: drift found and healed, a failure, a rollback reach a notification target
and the forge's deploy statuses, each once, from the typed events of the ledger."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from gitops.controller.outbox import OutboxDispatcher
from gitops.controller.statuses import DeployStatuses
from gitops.controller.triggers import Trigger
from gitops.demo.forges import ForgeSimulator
from gitops.drivers.proxmox.connection import connect
from gitops.forges import ForgeClient
from gitops.notify import WebhookTarget
from gitops.settings import NotifyTarget
from tests.controller.conftest import Ctl
from tests.controller.support import small_estate
from tests.notify.receiver import Receiver

REPO = "ann/config"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def forge() -> Iterator[ForgeSimulator]:
    with ForgeSimulator() as sim:
        sim.add_repo("gitea", REPO)
        yield sim


def test_drift_heal_and_rollback_are_notified_and_shown_on_the_forge(ctl: Ctl, receiver: Receiver,
                                                                      forge: ForgeSimulator) -> None:
    target = WebhookTarget(NotifyTarget(kind="webhook", url=SecretStr(receiver.url())))
    client = ForgeClient("gitea", forge.url, SecretStr(forge.tokens["gitea"]), sleep=lambda s: None)
    outbox = OutboxDispatcher(ctl.store, [target, DeployStatuses(client, REPO, "phoenix-gitops")],
                              public_url="https://phoenix.example.org")
    outbox.prime()
    first = ctl.remote.commit(small_estate(memory=512), "first")
    ctl.run()
    with connect(ctl.settings) as pve:
        pve.request("PUT", f"nodes/{pve.node}/lxc/101/config", {"memory": 2000})
    assert ctl.run(Trigger("drift")).action == "healed"
    second = ctl.remote.commit(small_estate(memory=600), "second")
    ctl.run()
    ctl.run(Trigger("rollback", revision=first))
    outbox.run_once()
    outbox.run_once()  # nothing twice

    kinds = [d.json["kind"] for d in receiver.deliveries]
    assert kinds.count("drift") == 1 and kinds.count("self-heal") == 1 and kinds.count("rollback") == 1
    assert kinds.count("applied") >= 2
    drift = next(d.json for d in receiver.deliveries if d.json["kind"] == "drift")
    assert "lxc/101" in drift["data"]["targets"]
    first_states = [s["state"] for s in forge.statuses("gitea", REPO, first)]
    assert first_states[0] == "success" and all(s["context"] == "phoenix-gitops/deploy"
                                                for s in forge.statuses("gitea", REPO, first))
    assert forge.statuses("gitea", REPO, second)[0]["target_url"] == f"https://phoenix.example.org/revisions/{second}"
    assert "error" in [s["state"] for s in forge.statuses("gitea", REPO, second)]  # rolled back
    client.close()
