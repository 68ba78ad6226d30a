"""Docker stacks deployed through Portainer, as the planner sees them: pure data and pure decisions.

`live` (what the Portainer driver reads), `desired` (what the config asks for: environments and stacks
placed on VMs), `comparing` (`plan_stacks`: desired + live -> actions). No I/O here: the compose files
are read and rendered before (`gitops.drivers.portainer.compose`).
"""
