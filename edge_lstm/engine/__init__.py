"""Many streams through one model: routing, the batched wave and replay. No I/O, no threads."""
