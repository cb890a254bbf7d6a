"""The pure core: standard library and numpy only (a test enforces it)."""
