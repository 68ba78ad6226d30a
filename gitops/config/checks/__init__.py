"""Cross-file checks, each adding problems with stable codes to a report. Run by `gitops.config.validation`."""
