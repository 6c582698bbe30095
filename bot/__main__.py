"""`python -m bot` behaves like the `agora` console script."""

from bot.cli import main

raise SystemExit(main())
