"""The chat app: rooms, their message history, and who is in them."""
