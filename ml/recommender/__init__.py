"""MooVitamix recommender: implicit-feedback ALS on the warehouse's listen history.

Steps (see ``recommender.pipeline``): read ``marts.user_track_interactions`` ► decide
whether to retrain (``policy``) ► evaluate against popularity and the champion ► log,
register and gate in MLflow ► score every user, cold start included ► replace
``ml.user_recommendations`` ► one row in ``ml.training_runs``. ``serve`` is the read API.
"""

__version__ = "0.2.0"
