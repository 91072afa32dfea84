"""Tests of `jobs/`: scheduler, KPI sync, digests, reminders, reviews."""
