"""Customers and their value: CRM import, identities per platform, CLV (BG/NBD + Gamma-Gamma), rCLV and tiers."""
