"""Django test cases that ``test_live_server_testcase`` runs with Django's runner."""
