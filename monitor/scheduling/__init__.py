"""When checks run: the scheduler and its triggers, leader leases, shards, request budgets."""
