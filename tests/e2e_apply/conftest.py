"""Fixtures of the apply tests: see tests/e2e_apply/support.py."""

from tests.e2e_apply.support import cli, converged, example

__all__ = ["cli", "converged", "example"]
