"""The recommender's project folder: its package (recommender/), tests (ml.tests) and settings."""
