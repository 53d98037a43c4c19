"""emoJ library."""
