"""Dispatch of approved generation jobs to generator workers through a task queue."""
