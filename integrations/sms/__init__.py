"""Text messages to people's phones, through one narrow interface (see messenger.py)."""
