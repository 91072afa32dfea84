"""Test helpers: signed-request driver, data factories, OAuth helpers."""
