"""Bookmarks that say more than the warehouse holds are dropped before the extract-load."""
