"""In-guest provisioning (system `guests`) as the planner sees it: each guest's scripts and each container's
host-side settings. Pure; `provisioning.RULES` is listed in `gitops.planner.systems.RULES`.
"""
