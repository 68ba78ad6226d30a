"""The command line (`phoenix-gitops`), layer 1. Each command lives in a module named for what it does."""
