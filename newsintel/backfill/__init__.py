"""History for the series: backfill steps (outlet archives, GDELT, imported lists).

Each module is one step that takes plain values in and gives ``Article`` records or
series points out; ``newsintel.jobs`` composes them with the store.
"""
