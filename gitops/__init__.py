"""Phoenix GitOps: a GitOps controller for Proxmox VE estates described by the Phoenix JSON configs."""

from gitops.version import version as _version

__version__ = _version()
