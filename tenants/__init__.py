"""Buildings (the tenants, one PostgreSQL schema each), their domains, accounts, provisioning."""
