"""Low-code registration forms: definitions per building and scenario, rendering, validation."""
