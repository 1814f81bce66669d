"""APScheduler wiring: automation runner, inbox poller, headless agent."""
