"""migration-lint: a linter for Django migrations."""

__version__ = "0.1.0"
