"""Visits: invitations, registrations and the visitor identity checks they need."""
