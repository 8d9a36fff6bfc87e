"""Importers: bring groups, projects, issues and their whole relation graph from GitLab or SourceCraft."""
