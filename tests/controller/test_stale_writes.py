"""A hand edit made between the plan and the write is never overwritten blindly: the config write carries the
digest it was planned from, PVE refuses it, and the guest is read and planned again from what it now is."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from gitops import errors
from gitops.config.validation import validate_directory
from gitops.controller import replanning
from gitops.controller.systems import Convergence
from gitops.drivers.proxmox.connection import connect
from tests.controller.conftest import Ctl
from tests.controller.support import small_estate

CONFIG = "nodes/pve1/lxc/101/config"
DIGEST_REFUSAL = "detected modified configuration - file changed by other user? Try again."


def config_puts(pve: Any) -> list[dict[str, Any]]:
    """The bodies of the PUTs to CT 101's config the fake received, in order."""
    return [{k: v[0] for k, v in parse_qs(body.decode()).items()} for method, path, body in pve.fake.requests
            if method == "PUT" and path.endswith(CONFIG)]


@pytest.mark.parametrize("snapshots", [False, True], ids=["plain-write", "snapshot-first"])
def test_a_hand_edit_between_plan_and_write_is_read_and_planned_again(ctl: Ctl, pve: Any, snapshots: bool,
                                                                    tmp_path: Path) -> None:
    settings = ctl.settings.model_copy(update={"snapshots": snapshots})
    ctl.remote.commit(small_estate(memory=512, cores=1), "first")
    assert ctl.run().action == "applied"
    desired = tmp_path / "desired"  # the next commit's files
    desired.mkdir()
    for name, text in small_estate(memory=1024, cores=1).items():
        (desired / name).write_text(text)

    estate, report = validate_directory(desired)
    assert report.valid
    convergence = Convergence(settings, proxmox=lambda: connect(settings, sleep=lambda s: None))
    with convergence.open() as session, connect(settings) as client:
        run = session.plan(estate, revision="1" * 40)
        [update] = [a for a in run.plan.actions if a.target == "lxc/101" and a.action == "update"]
        planned_digest = update.calls[-1].digest
        assert planned_digest and planned_digest == run.live.guests[101].digest

        # someone edits the guest by hand after the plan read it: a description, and the cores
        client.request("PUT", CONFIG, {"description": "hand edit: on call", "cores": 2})
        pve.fake.requests.clear()
        result = session.apply(run)

    assert result.ok, result.to_dict()
    with connect(settings) as client:
        final = client.get(CONFIG)
    assert int(final["memory"]) == 1024 and int(final["cores"]) == 1  # the config's values
    assert final["description"] == "hand edit: on call"  # what the config does not manage is kept
    puts = config_puts(pve)
    if snapshots:  # checked before the snapshot: nothing was sent from the stale plan
        assert all("digest" not in p for p in puts) and len(puts) == 1
    else:  # the stale write went with the planned digest and was refused; the second with the fresh one
        assert len(puts) == 2 and puts[0].get("digest") == planned_digest
        assert puts[1]["digest"] != planned_digest
    # the second plan saw the hand edit (it sets the cores back) and says it was planned again
    replanned = [o for o in result.outcomes if replanning.REPLANNED in o.warnings]
    assert [o.target for o in replanned if o.action == "update"] == ["lxc/101"]
    assert any(c.field == "cores" for a in run.plan.actions[-len(replanned):] for c in a.changes)


def test_the_simulator_refuses_a_stale_digest_as_pve_does(pve: Any, pve_client: Any) -> None:
    pve.add_ct(150, "web")
    items = pve_client.request("GET", "nodes/pve1/lxc/150/pending")
    digest = next(i["value"] for i in items if i["key"] == "digest")
    assert digest == pve_client.request("GET", "nodes/pve1/lxc/150/config")["digest"]
    pve_client.request("PUT", "nodes/pve1/lxc/150/config", {"memory": 768, "digest": digest})
    with pytest.raises(errors.StaleError, match="detected modified configuration"):
        pve_client.request("PUT", "nodes/pve1/lxc/150/config", {"memory": 1024, "digest": digest})
