"""Incident services: the transactions that change incidents and enqueue their side effects."""
