"""A sample Django project for callboard's Django-bridge tests: models, sessions, auth, admin."""
