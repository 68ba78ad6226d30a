"""Inside the guests: feature and application scripts run as root in containers (SSH to the node,
`pct push` / `pct exec`) and VMs (QEMU guest agent over the PVE API), and containers' host-side settings
(raw `lxc.*` lines, id maps, bind-mount folders) in their node's config file. The only code that knows
SSH (asyncssh) or the guest agent's calls. Off unless `PHOENIX_PROVISIONING` is set.
"""
