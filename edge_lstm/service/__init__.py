"""The on-device process: the worker loop, its shell (signals, Last Will, shutdown), health and sd_notify."""
