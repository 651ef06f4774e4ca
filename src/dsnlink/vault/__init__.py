"""Encryption at rest of Net-entreprises passwords and every other secret."""
