"""issues feature."""
