"""History integrity (the ML2xx rules): which migrations production already ran, what they were
then, and how the files on disk differ from that.

- :mod:`.normal`: a migration's meaning, normalised from its syntax tree, hashed and compared;
- :mod:`.lockfile`: ``migrations.lock``, the normalised hashes committed to the repository;
- :mod:`.sources`: the three sources of "already applied" (a git base, the lock file, the
  ``django_migrations`` table of ``--data-url``), loaded once per run for the rules;
- :mod:`.plans`: the new migration that carries an edit instead;
- :mod:`.command`: ``migration-lint lock [--check]``.
"""
