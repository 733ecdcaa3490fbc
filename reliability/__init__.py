"""The reliability suite: crash safety, load, hostile input. See README "Reliability"."""
