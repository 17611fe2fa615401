"""Load a site's desired state from a directory of YAML files, reporting every problem.

A site's desired state is every ``*.yaml`` / ``*.yml`` file under its directory, merged. A
repository may hold several sites: a site is the directory of a file that declares ``site:``,
with every YAML file below it. The directory is untrusted input (a pull request can add a
symlink or a FIFO): nothing in it is skipped without a problem saying so, nothing outside it is
read, and a file's type and size are checked before it is read
(:func:`licsync.load.files.discover_files`).

Problems are collected, never stopped at the first: YAML errors, schema errors (each mapped to
the line and column of the offending value), and cross-file checks (a user declared twice, a
rule name used twice, a malformed user id or one with invisible characters, rule conditions
that do not parse). Warnings (a user holding both access types, ids that differ only by
look-alike letters, an ``until`` date already past) do not fail loading. The cost is linear in
the number of problems: ``bench/validate.py`` measures it.
"""

from __future__ import annotations

from licsync.load.directory import LoadReport, check_directory, load_desired
from licsync.load.files import YAML_SUFFIXES

__all__ = ["YAML_SUFFIXES", "LoadReport", "check_directory", "load_desired"]
