"""HTTP faces: GitLab v4, SourceCraft, and the native graph API."""
