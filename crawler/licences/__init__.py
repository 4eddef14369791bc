"""Licences: SPDX normalisation of what forges and manifests declare, detection from licence
files' text against reference texts kept as data (and from standard notices and README licence
sections), and the catalogue of the ``licences`` table."""

from crawler.licences.catalogue import LicenceInfo, licence_catalogue
from crawler.licences.detect import Detection, detect, detect_files
from crawler.licences.manifests import MANIFESTS, from_manifest
from crawler.licences.readme import licence_from_readme, readme_licence_id
from crawler.licences.spdx import NOASSERTION, NONE, normalise

__all__ = [
    "MANIFESTS",
    "NOASSERTION",
    "NONE",
    "Detection",
    "LicenceInfo",
    "detect",
    "detect_files",
    "from_manifest",
    "licence_catalogue",
    "licence_from_readme",
    "normalise",
    "readme_licence_id",
]
