"""``manage.py migration_lint [PATH | APP_LABEL ...] [options]`` for projects that add
``"migration_lint"`` to INSTALLED_APPS; the options are the command line's."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from migration_lint.cli import main


class Command(BaseCommand):
    help = "Lint migrations (see `migration-lint --help` for the options)."
    requires_system_checks: list[str] = []  # noqa: RUF012 - Django's own attribute type

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("lint_args", nargs=argparse.REMAINDER)

    def run_from_argv(self, argv: list[str]) -> None:
        # Django's parser would reject our flags; manage.py has already applied --settings.
        sys.exit(main(argv[2:], stdout=sys.stdout))

    def handle(self, *args: Any, **options: Any) -> None:
        code = main(list(options["lint_args"]), stdout=self.stdout)
        if code:
            sys.exit(code)
