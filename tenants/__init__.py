"""Buildings (the tenants: one PostgreSQL schema each), their domains, user accounts, provisioning."""
