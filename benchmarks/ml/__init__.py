"""The recommender's benchmarks: run with the recommender's venv, from the project root."""
