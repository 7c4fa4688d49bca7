"""Messages to people (SMS, e-mail): queued by actions, delivered by a task, logged per building."""
