"""The building's directory: companies, their hosts, and who holds which role."""
