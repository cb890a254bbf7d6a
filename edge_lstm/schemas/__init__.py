"""Data files shipped with the package: the alert JSON schema."""
