"""The embedded default: a simulated Proxmox VE node for `phoenix-gitops demo` and the tests (layer 1)."""
