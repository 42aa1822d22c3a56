"""Discovered topics: seeded clustering of story embeddings, labels, lineage, emergence.

Pure code on plain values (matrices, id lists); the database side is
``newsintel.store.topics`` and the composition is ``newsintel.jobs.build_topics``.

- ``cluster``: deterministic spherical k-means micro-clusters + Ward + silhouette
- ``label``: class-based TF-IDF words and representative articles
- ``lineage``: Hungarian matching of new clusters to earlier topics; events
- ``emerging``: each topic's latest month against its own baseline (Poisson)
- ``build``: one build over time windows, tying the above together
- ``place``: between rebuilds, new stories join the nearest topic; when to rebuild
- ``projection``: a 2-D map of the embeddings (PCA by numpy SVD, fixed signs)
"""

from newsintel.topics.build import BuildResult, Corpus, Topic, build_topics, window_key
from newsintel.topics.cluster import Clustering, ClusterParams, cluster_vectors
from newsintel.topics.emerging import Emergence, PeriodEmergence, emergence, emergence_by_period
from newsintel.topics.label import representative_rows, topic_words
from newsintel.topics.lineage import LineageEvent, LineageParams, TopicRef, founding_id, link
from newsintel.topics.projection import Projection, fit_pca, project_2d

__all__ = [
    "BuildResult",
    "ClusterParams",
    "Clustering",
    "Corpus",
    "Emergence",
    "LineageEvent",
    "LineageParams",
    "PeriodEmergence",
    "Projection",
    "Topic",
    "TopicRef",
    "build_topics",
    "cluster_vectors",
    "emergence",
    "emergence_by_period",
    "fit_pca",
    "founding_id",
    "link",
    "project_2d",
    "representative_rows",
    "topic_words",
    "window_key",
]
