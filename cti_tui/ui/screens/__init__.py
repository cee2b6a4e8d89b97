"""Screens: login, dashboard, and the modals the dashboard opens."""
