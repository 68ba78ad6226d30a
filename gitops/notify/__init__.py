"""Notifications (placeholder until built)."""
