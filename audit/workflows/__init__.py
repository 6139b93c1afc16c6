"""Workflows: which packs and classes a workflow file needs, and which hosts can run it."""
