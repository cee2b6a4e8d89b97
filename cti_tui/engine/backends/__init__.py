"""Backends translate the connector's commands and reports to one outside world each."""
