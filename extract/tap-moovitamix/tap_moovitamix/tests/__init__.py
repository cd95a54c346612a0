"""Tests for tap-moovitamix."""
