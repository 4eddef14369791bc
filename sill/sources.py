"""Where a SILL export comes from: the official addresses and the copies shipped in ``data/``.

Apart from ``sill.load`` so that what only names a source (the default of ``codegouv sill
--source``, shown by ``codegouv --help``) does not import the loader, its parsers and the
licence normalisation.
"""

from __future__ import annotations

from pathlib import Path

#: The official export: v1, the one with instances, categories and referencing dates.
SILL_URL = "https://code.gouv.fr/sill/api/sill.json"
#: The same v1 export under its newer name (tag v1.43.25, 2025-05).
SILL_CATALOGI_URL = "https://code.gouv.fr/sill/api/catalogi.json"
#: The v2 export (tag v1.54.4, 2026-03): no instances, but validated upstream.
SILL_V2_URL = "https://code.gouv.fr/sill/api/v2/catalogi.json"

DATA_DIR = Path(__file__).resolve().parent / "data"
#: The real 2022 SILL (240 entries), for offline use: the default when there is no network.
BUNDLED_2022 = DATA_DIR / "sill-2022-05.json"
#: Three real entries of the v2 export of 2026-09-18 (7zip, Anaconda, Hardensysvol).
BUNDLED_V2_EXTRACT = DATA_DIR / "sill-v2-catalogi-2026-09-18-extract.json"
OFFLINE_SOURCE = BUNDLED_2022
