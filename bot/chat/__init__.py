"""The chat-platform port: what the core asks of a chat platform (Slack, later Feishu/Lark)."""
