"""PagerDuty: on-call schedules, paging and the Webhooks v3 signature (issue 13)."""
