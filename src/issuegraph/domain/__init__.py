"""Pure rules: link types and inverses, roles, errors. No HTTP, no SQL."""
