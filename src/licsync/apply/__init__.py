"""Applying a plan: choosing the approved changes (:mod:`.reviewed`, :mod:`.run`), executing
them through a writer in dependency order (:mod:`.execute`), one lock per site (:mod:`.lock`),
the audit log (:mod:`.audit`), the report (:mod:`.report`), and the writes themselves
(:mod:`.writer`)."""
