"""Drivers (layer 3): the only code that talks to Proxmox (proxmoxer) or Portainer (httpx).

`seam` is what a system implements (`Driver`) and the registry (`Drivers`); `executing` is the one
executor that runs any plan with them; `proxmox` is the first system.
"""
