"""Measuring detection on labelled data: point-wise, event-level and changepoint (NAB) metrics."""
