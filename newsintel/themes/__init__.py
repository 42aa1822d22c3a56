"""Themes: tracked themes users define, scored against article embeddings."""
