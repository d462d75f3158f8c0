"""Student-facing applications of the course kit."""
