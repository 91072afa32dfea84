"""Tests of `slackapp/`: the real Bolt app driven with signed requests against the fakes."""
