"""Step model implementations: LiteRT (deployed) and a numpy reference of the same cell."""
