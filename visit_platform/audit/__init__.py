"""The append-only audit log: who saw or changed what, in each building."""
