"""Alert rules evaluated over stored results, a durable outbox, and one notifier per channel."""
