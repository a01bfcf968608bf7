"""``inspectd bench``: the frame-to-verdict path timed stage by stage, beside its float32 reference."""
