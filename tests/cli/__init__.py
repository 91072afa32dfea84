"""Tests of the `loyalty` command line."""
