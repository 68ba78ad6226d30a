"""The Proxmox VE privileges the controller needs: the `PhoenixGitOps` role a least-privilege API token gets.

Read by the "Run it on Proxmox" guide of docs/operations.md (which lists exactly these) and by
`phoenix-gitops check`, which compares them with what the configured token holds
(`GET /access/permissions`). tests/e2e_apply/test_least_privilege.py runs a full apply, a change
with its snapshot, a destroy (backed up first) and a data rollback with a token holding exactly these, and shows each
one is needed (without it, a step fails with PVE's 403).

PVE allows some settings only to `root@pam` logged in with its password, never to an API token,
whatever its privileges: bind mounts (`mpN` with a host path), device passthrough (`devN`, the GPUs)
and container feature flags other than `nesting`. An estate that uses them needs ticket login as
root@pam (`PHOENIX_PVE_USER=root@pam`, `PHOENIX_PVE_PASSWORD`).
"""

from __future__ import annotations

ROLE = "PhoenixGitOps"

# privilege -> why the controller needs it (granted on `/`, propagated)
PRIVILEGES: dict[str, str] = {
    "Datastore.Allocate": "define the storages of the ZFS datasets the guests use (POST /storage)",
    "Datastore.AllocateSpace": "allocate guest disks and volumes on a storage; list its content (templates)",
    "Datastore.AllocateTemplate": "download OS templates and cloud images (download-url)",
    "Sys.AccessNetwork": "let the node download templates from a URL (download-url; PVE 8: Sys.Audit + Sys.Modify)",
    "SDN.Use": "attach guest NICs to their bridges",
    "VM.Allocate": "create guests, convert them to templates, delete them (PHOENIX_PRUNE, --allow-destroy)",
    "VM.Backup": "back up a guest (vzdump) before it is destroyed, when PHOENIX_BACKUP_STORAGE is set",
    "VM.Audit": "read guests' config, pending changes, firewall and snapshots",
    "VM.Clone": "full clones of templates",
    "VM.Config.CPU": "cores",
    "VM.Config.Disk": "root disks and volumes, disk growth",
    "VM.Config.HWType": "VM hardware: SCSI controller, serial console, display",
    "VM.Config.Memory": "memory and swap",
    "VM.Config.Network": "NICs, nameserver, hostname, firewall options and rules, cloud-init IP and user",
    "VM.Config.Options": "name, tags, onboot, startup order, description",
    "VM.PowerMgmt": "start guests, stop them before a delete or a data rollback",
    "VM.Snapshot": "pre-change snapshots (phx-<revision>), pruning them, and rollback --restore-data",
}


def missing(held: dict[str, dict[str, int]]) -> list[str]:
    """The role's privileges not held on `/` in `GET /access/permissions`'s answer ({path: {priv: 1}})."""
    root = held.get("/", {})
    return sorted(p for p in PRIVILEGES if not root.get(p))
