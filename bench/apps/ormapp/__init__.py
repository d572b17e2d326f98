"""The ORM scenario's Django app: one model, ``Item``, read by the ORM consumers."""
