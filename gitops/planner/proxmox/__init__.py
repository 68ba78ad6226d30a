"""Proxmox VE as the planner sees it: pure rules for storages, templates, guests, the cluster firewall,
access and networks, and the PVE paths and value forms they write (`pve_paths`, `normalize`). Their
`SystemRules` are listed in `gitops.planner.systems.RULES`.
"""
