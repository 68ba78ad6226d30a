"""Phoenix GitOps: a GitOps controller for Proxmox VE estates described by the Phoenix JSON configs."""

__version__ = "0.1.0"
