-- 015: what the stored theme scores were computed with. At most one row: the
-- fingerprint (model, theme definitions as scoring reads them, trained classifiers,
-- scoring version) of the last complete assignment of every embedded article. While it
-- matches, `newsintel themes assign` (and `newsintel run`) score only articles without
-- scores; a different fingerprint, or no row, rescores every article. A full assignment
-- removes the row before it starts and writes it when it ends, so an interrupted one
-- leaves no row and the next run is full again.
CREATE TABLE theme_assignment (
    singleton BOOLEAN PRIMARY KEY DEFAULT true CHECK (singleton),
    fingerprint VARCHAR NOT NULL,
    model VARCHAR NOT NULL,
    articles BIGINT NOT NULL,
    assigned_at TIMESTAMP NOT NULL DEFAULT (now()::TIMESTAMP)
);
