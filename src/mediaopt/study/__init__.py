"""Fleet studies: every trace x policy x seed replayed on a process pool or a Dask cluster.

:func:`study` runs the sessions and returns a :class:`Study`: ``sessions`` (one row per
session, with provenance, the network, every metric and the time accounting of
``mediaopt.sla``), ``sla()`` (pooled availability with its confidence bound and verdict
per group), ``compare()`` (each policy against a baseline, paired per trace and seed),
``save()``/``Study.load()`` (Parquet, CSV and a JSON manifest). The study measures the
tuner optimises are plain functions of a sessions table (:mod:`mediaopt.study.measures`).

The room's modules: ``inputs`` (finding and hashing traces, loading policies), ``worker``
(one session and one chunk, wherever they run), ``engine`` (:func:`study`: serial, pool
or Dask), ``results`` (:class:`Study`), ``measures``. pandas, pyarrow, tqdm and Dask load
when first needed, so ``import mediaopt`` stays light. ``docs/study.md`` has the details.
"""

from mediaopt.study.engine import default_workers, study
from mediaopt.study.measures import (
    MEASURES,
    Measure,
    availability,
    availability_lower_bound,
    frame_delay_p95_ms,
    freeze_ratio,
    measure,
    quality_mean,
    sent_kbps,
)
from mediaopt.study.results import (
    COMPARE_MEASURES,
    SESSION_COLUMNS,
    SLA_COLUMNS,
    TIMING_COLUMNS,
    Study,
)

__all__ = [
    "COMPARE_MEASURES",
    "MEASURES",
    "SESSION_COLUMNS",
    "SLA_COLUMNS",
    "TIMING_COLUMNS",
    "Measure",
    "Study",
    "availability",
    "availability_lower_bound",
    "default_workers",
    "frame_delay_p95_ms",
    "freeze_ratio",
    "measure",
    "quality_mean",
    "sent_kbps",
    "study",
]
