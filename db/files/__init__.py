"""Reading exports without losing a record: text files in any encoding (``textfiles``) and the
quarantine for records that cannot be stored (``quarantine``).

Why in ``db``: the listener's importers and the CRM import (``engagement.customers``) both need
them, and ``engagement`` may not borrow from ``listener``; below both, they are shared by the
layers instead of reached across.
"""
