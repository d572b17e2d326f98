"""The sample project's models app."""
