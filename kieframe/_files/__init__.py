"""Files on this machine: local inputs to upload, and result files on disk.

Modules: ``_sniff`` (content types), ``_names`` (safe names), ``_local`` (checking local inputs),
``_probe`` (sizes and durations from headers), ``_file_rules`` (rules across an input's files),
``_cache`` (the upload cache) and ``_finish`` (planning result files and finishing them on disk).
They know nothing of the network; the operations that upload and download are in ``_core``.
"""
