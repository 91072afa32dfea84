"""Scheduled jobs: KPI sync, digests, reminders, reviews, charts."""
