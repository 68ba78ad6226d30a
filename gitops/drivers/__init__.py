"""Drivers (layer 3): the only code that talks to Proxmox (proxmoxer) or Portainer (httpx)."""
