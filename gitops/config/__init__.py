"""The Phoenix config: pydantic models of the four files, loading, validation and queries.

Layer 4 (core): imports nothing third-party but pydantic. Entry points: `validate_directory`,
`load` (valid estates only) and the query functions in `gitops.config.queries`.
"""
