"""graph feature."""
