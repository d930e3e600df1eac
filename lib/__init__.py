"""Plumbing shared by several apps (no app imports another's internals through here)."""
