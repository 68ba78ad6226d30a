"""The controller (layer 2): convergence glue, the reconcile loop, triggers, rollback, drift."""
