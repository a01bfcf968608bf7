"""Test helpers shared by the suites: brokers, TLS material, daemon processes, MQTT clients, payloads."""
