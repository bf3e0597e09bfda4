"""The domain core: incidents, the six steps, the timeline and the emergency plan.

Plain Python only: nothing here imports Slack, HTTP or SQL, so it is unit-tested in
milliseconds and every adapter (webhooks, Slack, storage) speaks its vocabulary.
"""
