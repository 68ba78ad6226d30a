"""The Proxmox VE driver: the only code that knows proxmoxer.

Callers (controller, CLI) use `connection.connect` and `driver.ProxmoxDriver`, the driver-seam
implementation (`gitops.drivers.seam`) the one executor runs; `reading` fills the live state,
`applying.apply_plan` is a shortcut for the driver's own tests; `errors`, `tasks` and `retrying` are
its internals.
"""
