"""Files in and out: uploads of local inputs, resumable verified downloads of results.

Modules: ``_sniff`` (content types), ``_names`` (safe names), ``_local`` (checking local inputs),
``_cache`` (the upload cache), ``_uploads`` (the upload operation), ``_downloads`` (the sans-I/O
download plan and operation) and ``_transfer`` (the blocking and asyncio drivers, and finishing a
file on disk). Nothing is imported here, so ``_operations`` can use ``_local`` without a cycle.
"""
