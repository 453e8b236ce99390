"""The operators' tools behind ``spruce stats`` and ``spruce compact`` (``spruce.cli`` parses their flags).

They run on a store no server has open (a local directory's ``LOCK`` allows one process), through the
engine itself opened without background threads, so that what they report and what they do is the
engine's own work, not a second reading of the store's bytes: ``offline`` opens the store (or says in
one line why it cannot), ``stats`` gathers and prints ``IndexEngine.storage()``, ``compact`` runs flushes
and compaction to the end, and ``progress`` draws their bars (on a terminal only).
"""
