"""``licsync propose``: the signals' verdicts as edits of the desired-state files.

``decide`` (pure) turns a plan into a proposal; ``edit`` (pure) turns a proposal into byte-range
edits of the files; ``body`` renders it for a pull request; ``run`` is the I/O edge.
"""
