"""MooVitamix recommender: implicit-feedback ALS on the warehouse's listen history.

Steps (see ``recommender.pipeline``): read ``marts.fct_listens`` ► hold-out evaluation
against a popularity baseline ► fit on everything ► log + register in MLflow ►
score the top-N unseen tracks per user ► replace ``ml.user_recommendations``.
"""

__version__ = "0.1.0"
