"""The durable outbox: side effects committed with the change that caused them, run later."""
