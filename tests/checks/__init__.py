"""Tests for the checks stage (audit.checks)."""
