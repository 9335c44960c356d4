"""``python -m core``: everything the pages can do, headless."""

from core.cli import main

raise SystemExit(main())
