"""Phoenix GitOps: a GitOps controller for Proxmox VE estates described by the Phoenix JSON configs."""

from __future__ import annotations


def __getattr__(name: str) -> str:
    """`gitops.__version__`, read from the package metadata on first use (importlib.metadata is slow to import)."""
    if name == "__version__":
        from gitops.version import version

        return version()
    raise AttributeError(f"module 'gitops' has no attribute {name!r}")
