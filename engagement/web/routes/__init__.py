"""Routers of the web app: auth, pages, form actions, lead/admin pages and exports, JSON API."""
