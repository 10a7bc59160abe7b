"""The running service: runtime, spool and replay, the HTTP server, their metrics."""
