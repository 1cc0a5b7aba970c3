"""Locust load tests: platform journeys built from musechat.contracts, latency gates and reports."""
