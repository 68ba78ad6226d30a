"""Checks of fields that are valid but say something worth reading: dangling, deprecated or ignored.

Called by `gitops.config.validation`. Codes (warnings): dangling-reference, deprecated-field, unused-field.
"""

from __future__ import annotations

from gitops.config.estate import HYPERVISOR_FILE, LXC_FILE, VM_FILE, Estate
from gitops.config.problems import Report


def check_fields(estate: Estate, report: Report) -> None:
    for name, volume in estate.hypervisor.volumes().items():
        for ctid in volume.mounts:
            if estate.lxc_guest(ctid) is None and not estate.unknown(LXC_FILE, ctid):
                report.warning(HYPERVISOR_FILE, ("shared_volumes", name, "mounts", ctid), "dangling-reference",
                               f"CT {ctid} does not exist (shared_volumes is not converged by the controller)")
    for path, ct in estate.lxc_items():
        if ct.template_file is not None:
            report.warning(LXC_FILE, (*path, "template_file"), "deprecated-field",
                           "`template_file` is not read by anything; use `template` or `clone_from_ctid`")
        if ct.template and ct.clone_from_ctid:
            report.warning(LXC_FILE, (*path, "template"), "unused-field",
                           "`template` is ignored: the container is cloned from `clone_from_ctid`")
        if ct.is_template and ct.start_at_boot:
            report.warning(LXC_FILE, (*path, "start_at_boot"), "unused-field", "templates never start")
    for vpath, vm in estate.vm_items():
        if vm.template_image and vm.clone_from_vmid is not None:
            report.warning(VM_FILE, (*vpath, "template_image"), "unused-field",
                           "`template_image` is ignored: the VM is cloned from `clone_from_vmid`")
        if vm.is_template and vm.start_at_boot:
            report.warning(VM_FILE, (*vpath, "start_at_boot"), "unused-field", "templates never start")
