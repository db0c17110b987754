"""Pipelines: build and run the LiveChat Reports load, and the `livechat-reports` command."""
