"""The Proxmox VE driver: the only code that knows proxmoxer.

Callers (controller, CLI) use `connection.connect`, `reading.read_live_state` and
`applying.apply_plan`; `errors`, `tasks` and `retrying` are its internals.
"""
