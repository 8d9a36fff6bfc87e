"""The SourceCraft REST face, served at the root (spec: shared/spec/sourcecraft-issue-links.md)."""
