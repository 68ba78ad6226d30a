"""OS templates and cloud images: where the config's paths point, as PVE storage ids and volume ids.

Upstream writes LXC templates as ZFS paths (`/fastData/shared-iso/template/cache/FILE`), which on
the hypervisor is storage `fastData-shared-iso`, volume `fastData-shared-iso:vztmpl/FILE`. A volid
(`local:vztmpl/FILE`) is accepted as it is. Used by the checks and the planner.
"""

from __future__ import annotations

import re

_ZFS_PATH = re.compile(r"^/(?P<pool>[^/]+)/(?P<dataset>[^/]+)/template/cache/(?P<file>[^/]+)$")
_VOLID = re.compile(r"^(?P<storage>[A-Za-z][A-Za-z0-9._-]*):(?P<content>vztmpl|iso|import)/(?P<file>.+)$")


def template_volid(template: str, default_storage: str = "local") -> str:
    """The volume id of an LXC OS template given as a path, a volid or a bare file name."""
    m = _VOLID.match(template)
    if m:
        return template
    m = _ZFS_PATH.match(template)
    if m:
        return f"{m['pool']}-{m['dataset']}:vztmpl/{m['file']}"
    return f"{default_storage}:vztmpl/{template.rsplit('/', 1)[-1]}"


def template_storage(template: str) -> str | None:
    """The storage id an LXC template lives on, or None when it is a bare file name."""
    if _VOLID.match(template) or _ZFS_PATH.match(template):
        return template_volid(template).split(":", 1)[0]
    return None


DEFAULT_UBUNTU_RELEASE = "noble"  # what upstream's scripts wrote in the URL before `ubuntu_release` existed


def cloud_image_url(ubuntu_release: str | None, image: str | None) -> str | None:
    """Where upstream downloads a VM template's cloud image from: Ubuntu's cloud-images site, by the
    hypervisor file's `vm_defaults.ubuntu_release` and the VM's `template_image` (vm-manager.sh; until
    October 2025 the scripts wrote `noble` there, so that is the release when none is given)."""
    if not image:
        return None
    return f"https://cloud-images.ubuntu.com/{ubuntu_release or DEFAULT_UBUNTU_RELEASE}/current/{image}"


def appliance_name(template: str) -> str:
    """The name `pveam download STORAGE NAME` takes: the template's file name (upstream's `basename`)."""
    return template.rsplit("/", 1)[-1].rsplit(":", 1)[-1]
