"""Keyword clustering: pure functions from phrases to groups, no database."""
