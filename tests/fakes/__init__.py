"""Fakes of external APIs, served over real HTTP on localhost."""
