"""Collectors: fetch posts from platforms and files, parse them, store them idempotently."""
