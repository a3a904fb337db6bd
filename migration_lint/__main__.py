from migration_lint.cli import entry

entry()
