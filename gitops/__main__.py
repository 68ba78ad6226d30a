"""`python -m gitops` runs the command line."""

from gitops.cli.main import app

app()
