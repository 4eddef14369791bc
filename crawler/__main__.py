"""`python -m crawler` is `codegouv`."""

from crawler.cli import main

main()
