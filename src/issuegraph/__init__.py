"""issuegraph: an issue tracker server whose heart is the relation graph."""

__version__ = "0.1.0"
