"""``licsync dump``: a site's explicit allocations and licence rules written as licsync YAML.

:mod:`licsync.dump.document` turns actual state into the files' text (pure);
:mod:`licsync.dump.files` writes them (refusing to overwrite, checking they load back).
"""

from __future__ import annotations

from licsync.dump.document import FILE_NAMES, Dump, DumpedAllocation, dump_site, site_name_for

__all__ = ["FILE_NAMES", "Dump", "DumpedAllocation", "dump_site", "site_name_for"]
