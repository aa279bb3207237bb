"""Entry point of ``python -m xlm.train``."""

from .cli import main

main()
