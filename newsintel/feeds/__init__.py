"""The feed layer: sources -> fetch -> parse -> normalise, with no database access.

``newsintel.jobs`` composes these steps; the store persists what they return. Import the
step modules themselves (``newsintel.feeds.parse`` ...): the package re-exports
nothing, so that a parse worker process does not load the HTTP client it never uses.
"""
