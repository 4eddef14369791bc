"""The SILL (Socle interministériel de logiciels libres), loaded and linked to repositories.

- ``sill.load``: read an export (URL, file or bytes) in any of its shapes into records;
- ``sill.models``: those records (frozen dataclasses);
- ``sill.match``: pure functions linking SILL entries to the inventory's repositories by URL.

This package takes plain values and imports nothing from ``crawler``; ``crawler`` stores what it
returns.
"""
