"""Sources: bytes in, samples out."""
