"""The desk's ID-card reader: what it reports about a second-generation resident identity
card, checked before anything is filled in from it."""
