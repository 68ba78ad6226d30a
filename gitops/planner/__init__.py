"""The planner (layer 4, pure): desired config + live state (plain data) -> an ordered plan (plain data).

No I/O and no clock: `plan_changes(estate, live, options)` in `gitops.planner.systems` is the entry.
"""
