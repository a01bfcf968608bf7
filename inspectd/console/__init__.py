"""The operator console: a web page served by the daemon (live view, per-product state, review queue,
events), off unless the ``console:`` section enables it. See server.Console."""
