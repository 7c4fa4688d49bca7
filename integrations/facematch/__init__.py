"""Comparing a face with the photo of an identity document: the desk terminal reports a
score over the API; desks without one use the server-side matcher behind the same interface."""
